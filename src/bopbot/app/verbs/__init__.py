"""One module per verb of the `bopbot` command line: each has `SUMMARY` (its line in `bopbot --help`),
`add_parser(verbs)` (its arguments) and `run(args)` (the work, returning the exit code);
`options` holds what several share. `bopbot.app.cli` puts them together."""
