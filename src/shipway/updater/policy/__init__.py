"""Tag selection policies: semver, newest build, digest, alphabetical, numerical. Pure: no I/O."""
