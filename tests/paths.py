"""Where the repository and the test data are, for tests at any depth of the tree."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SCENES = FIXTURES / "scenes"
