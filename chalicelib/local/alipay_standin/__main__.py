"""python -m chalicelib.local.alipay_standin --port 8010 --data-dir .local/data/alipay-standin"""
import sys

from chalicelib.local.alipay_standin.server import main

if __name__ == "__main__":
    sys.exit(main())
