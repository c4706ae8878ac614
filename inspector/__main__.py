"""`python -m inspector` runs the command line."""
from .cli import main

main()
