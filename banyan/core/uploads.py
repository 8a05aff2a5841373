"""Uploads stay in memory: ledgers hold ID numbers and must never land on disk in clear."""

from __future__ import annotations

from django.core.files.uploadhandler import MemoryFileUploadHandler, StopUpload

MAX_UPLOAD_BYTES = 21 * 1024 * 1024  # a little above the ledger limit, which gives the clear message


class BoundedMemoryUploadHandler(MemoryFileUploadHandler):
    """Keep every uploaded file in memory, and stop reading one that grows past the limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Always activate: the parent class hands big files to a temporary-file handler.
        super().handle_raw_input(input_data, META, content_length, boundary, encoding)
        self.activated = True

    def new_file(self, *args, **kwargs):
        self.received = 0
        return super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > MAX_UPLOAD_BYTES:
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)
