"""`python -m hidt_cli` runs the command line."""

from hidt_cli.cli.app import main

main()
