"""xstilts: X-STILTs (English intermediate-task training, zero-shot cross-lingual transfer)."""
