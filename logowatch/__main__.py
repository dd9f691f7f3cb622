"""``python -m logowatch`` runs the command line."""

from logowatch.cli import main

if __name__ == "__main__":
    main(prog_name="logowatch")
