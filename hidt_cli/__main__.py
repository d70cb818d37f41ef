"""`python -m hidt_cli` runs the command line."""

from hidt_cli.cli.entry import main

main()
