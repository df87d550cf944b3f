"""Does active selection pay? Simulate the annotation loop on labelled public data (see tfgbv.cli.simulate).

python scripts/simulate_active_learning.py                 # both datasets, 3 seeds -> docs/active_learning.*
python scripts/simulate_active_learning.py --render-only   # re-render the Markdown and PNG from the JSON
"""

import sys

from tfgbv.cli.simulate import simulate as main

if __name__ == "__main__":
    sys.exit(main())
