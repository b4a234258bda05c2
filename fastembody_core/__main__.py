"""``python -m fastembody_core`` (also what ``torchrun -m fastembody_core run CONFIG`` launches)."""
from .cli import main

main()
