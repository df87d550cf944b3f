"""Validate the bundled corpus and functional suite (same as `tfgbv-validate-data`; see tfgbv.validate_data).

    python scripts/validate_data.py                      # check
    python scripts/validate_data.py --write-statement    # regenerate the counts block in data/DATA_STATEMENT.md
"""

import sys

from tfgbv.validate_data import main

if __name__ == "__main__":
    sys.exit(main())
