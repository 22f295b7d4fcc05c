"""Preview environments per pull request (Jenkins X-style previews on ApplicationSets).

``source`` reads an ApplicationSet's ``pullRequest`` generators (pure),
``render`` makes a pull request's Application from the template (pure),
``report`` posts the commit status and the one comment, ``urls`` finds a
cluster preview's URL in its live objects (pure), ``place`` reads where a
preview runs (its URL, its namespace on a cluster), and ``engine`` keeps
one preview per open pull request: deploy, update, tear down, expire.
"""
