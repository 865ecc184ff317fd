"""`python -m confcall.cli` = `confcall`."""
from confcall.cli import main

main()
