"""Cold starts are what users feel: importing the app must not load what only some
requests need."""
import os
import subprocess
import sys


def test_importing_the_app_loads_neither_pyjwt_nor_pillow_nor_boto3():
    # PyJWT (with cryptography) on the first token, Pillow on the first logo upload,
    # boto3 on the first S3 call.
    lazy = ("jwt", "cryptography", "PIL", "boto3")
    code = f"import sys, app; print(*[m in sys.modules for m in {lazy!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "STAGE": "local"}, check=True)
    assert dict(zip(lazy, out.stdout.split())) == {m: "False" for m in lazy}
