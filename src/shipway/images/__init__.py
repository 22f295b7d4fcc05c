"""OCI images: Dockerfile builder, registry client with auth flavours, OCI layout store."""
