"""The `fedmeki` command line: thin Typer commands over the fedmeki_* packages."""
