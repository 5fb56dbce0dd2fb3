"""One module per `psvl` subcommand: `add_arguments(parser)` and `run(args) -> int`. Thin: parse, build, run."""
