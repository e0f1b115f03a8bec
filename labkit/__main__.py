"""`python -m labkit ...` (also what `torchrun -m labkit train ...` runs)."""

from labkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
