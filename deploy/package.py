"""`make package`: regenerate the merge template and policies, run `chalice package`
offline, drop from the zip what the Lambda Python runtime already provides, and add the
compiled bytecode of every module it ships.

python -m deploy.package --stage prod --out build/prod
"""
import argparse
import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from deploy import template

# Shipped with boto3 in every Lambda Python runtime; PynamoDB pulls them in through
# botocore, and chalice has no way to leave a transitive dependency out.
PROVIDED_BY_LAMBDA = ("botocore", "boto3", "s3transfer", "jmespath", "dateutil", "urllib3",
                      "six")


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    if top == "six.py":
        return True
    base = top.split("-", 1)[0].lower().replace("python_", "")
    return base in PROVIDED_BY_LAMBDA and (top == base or top.endswith((".dist-info",
                                                                          ".data")))


# Lambda's task directory is read-only, so a function can never cache the bytecode it
# compiles: without .pyc files in the zip every cold start compiles every module again
# (about 130 ms of our own code on this machine). The zip never changes once built, so
# the bytecode is "unchecked-hash": used as it is, without a look at the source.
RUNTIME = (3, 11)  # .chalice/config.json deploys python3.11 (chalice follows the builder's)


def _bytecode(name: str, source: bytes, workdir: Path) -> tuple[str, bytes]:
    """The zip entry name and bytes of `name`'s compiled module, as the runtime looks it up."""
    head, _, file = name.rpartition("/")
    cached = importlib.util.cache_from_source(file)  # __pycache__/<stem>.cpython-311.pyc
    src, out = workdir / "module.py", workdir / "module.pyc"
    src.write_bytes(source)
    py_compile.compile(str(src), cfile=str(out), dfile=name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return (f"{head}/{cached}" if head else cached), out.read_bytes()


def slim(zip_path: Path) -> list[str]:
    """Rewrite the zip without the runtime-provided packages and with the bytecode of
    every module left; returns what was removed."""
    if sys.version_info[:2] != RUNTIME:
        raise SystemExit(f"package with Python {RUNTIME[0]}.{RUNTIME[1]}: its bytecode is "
                         f"what the Lambda runtime loads")
    removed = set()
    slimmed = zip_path.with_suffix(".slim.zip")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(
            slimmed, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as dst, \
            tempfile.TemporaryDirectory(prefix="package-pyc-") as workdir:
        for item in src.infolist():
            if _provided(item.filename):
                removed.add(item.filename.split("/", 1)[0])
                continue
            if "__pycache__/" in item.filename:
                continue  # a developer's own cache (timestamped): compiled again below
            data = src.read(item.filename)
            dst.writestr(item, data)
            if item.filename.endswith(".py"):
                try:
                    cached, code = _bytecode(item.filename, data, Path(workdir))
                except py_compile.PyCompileError:
                    continue  # e.g. a package's Python 2 test file: never imported
                dst.writestr(zipfile.ZipInfo(cached, date_time=item.date_time), code)
    slimmed.replace(zip_path)
    return sorted(removed)


def pin_stage(sam_path: Path, stage: str) -> None:
    """The merge template serves every stage; the packaged one alarms on the metrics of
    the stage it deploys (their Stage dimension), and takes no other."""
    sam = json.loads(sam_path.read_text(encoding="utf-8"))
    sam["Parameters"]["Stage"].update(Default=stage, AllowedValues=[stage])
    sam_path.write_text(json.dumps(sam, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def package(stage: str, out: Path, regenerate: bool = True) -> dict:
    """Build <out>/sam.json and <out>/deployment.zip for `stage`; returns sizes."""
    if regenerate:
        template.main([])
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
           "STAGE": stage}
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run([str(chalice), "package", "--stage", stage, "--merge-template",
                    str(template.MERGE_TEMPLATE), str(out)],
                   cwd=template.ROOT, env=env, check=True)
    pin_stage(out / "sam.json", stage)
    zip_path = out / "deployment.zip"
    before = zip_path.stat().st_size
    removed = slim(zip_path)
    return {"zip": zip_path, "before": before, "after": zip_path.stat().st_size,
            "removed": removed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=template.DEPLOYED_STAGES)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-regenerate", action="store_true",
                        help="package the committed merge template and policies as they are")
    args = parser.parse_args(argv)
    result = package(args.stage, args.out or template.ROOT / "build" / args.stage,
                     regenerate=not args.no_regenerate)
    print(f"{result['zip']}: {result['after'] / 1e6:.1f} MB "
          f"(chalice built {result['before'] / 1e6:.1f} MB; left out, as Lambda provides them: "
          f"{', '.join(result['removed']) or 'nothing'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
