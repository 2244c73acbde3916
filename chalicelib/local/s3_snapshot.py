"""moto's S3 keeps objects in memory only; the dev server saves the bucket to disk when
it stops and puts it back when it starts, so logos outlive a restart like the tables do."""
import json
import shutil
from pathlib import Path

MANIFEST = "manifest.json"


def save(client, bucket: str, directory: Path) -> int:
    """Write every object of the bucket under `directory`; return how many."""
    staging = directory.with_name(directory.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            obj = client.get_object(Bucket=bucket, Key=item["Key"])
            name = f"{len(manifest):06d}"
            (staging / name).write_bytes(obj["Body"].read())
            manifest.append({"key": item["Key"], "file": name,
                             "content_type": obj.get("ContentType")})
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    # Swap only a complete copy in: a crash while saving keeps the previous snapshot.
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return len(manifest)


def restore(client, bucket: str, directory: Path) -> int:
    """Put a saved snapshot back into the (empty) bucket; return how many objects."""
    manifest_file = directory / MANIFEST
    if not manifest_file.exists():
        return 0
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    for entry in manifest:
        extra = {"ContentType": entry["content_type"]} if entry.get("content_type") else {}
        client.put_object(Bucket=bucket, Key=entry["key"],
                          Body=(directory / entry["file"]).read_bytes(), **extra)
    return len(manifest)
