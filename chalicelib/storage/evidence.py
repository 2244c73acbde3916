"""Evidence (举证) the parties give in a dispute.

Access patterns (see README):
- one submission (a retried post finds it) .. evidence: order_id, id
- an order's evidence, oldest first ........ evidence.by_time (LSI): order_id, sent_key "<at>#<id>"

Files are message attachments (storage.messages.AttachmentModel) that the submission
pins, as a message does: they download from GET /orders/{id}/attachments/{file_id}.
Each party's count in the open dispute lives on the order (evidence_by_buyer/provider),
so the cap is kept by the submission's own conditional write.
"""
from pynamodb.attributes import ListAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import table
from chalicelib.storage.messages import MessageFile


class EvidenceByTime(LocalSecondaryIndex):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    order_id = UnicodeAttribute(hash_key=True)
    sent_key = UnicodeAttribute(range_key=True)


@table("evidence")
class EvidenceModel(Model):
    class Meta:
        table_name = "evidence"

    order_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)  # from the Idempotency-Key when there is one
    sent_key = UnicodeAttribute()  # "<clock.to_key(at)>#<id>": the record's order
    author_id = UnicodeAttribute()
    role = UnicodeAttribute()  # buyer | provider
    statement = UnicodeAttribute()
    files = ListAttribute(of=MessageFile, default=list)
    at = UnicodeAttribute()  # clock.to_key
    dispute_at = UnicodeAttribute()  # the dispute it was given in (its `at`)

    by_time = EvidenceByTime()
