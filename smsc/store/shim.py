"""TEMPORARY (lead): the names the engine imports until the store helper's
StorePort / MessageStore land in port.py."""
from .port import MoRow, StoredMessage  # noqa: F401
from .sqlite import RECEIPT_DONE, RECEIPT_NONE, RECEIPT_OWED  # noqa: F401
from .sqlite import Store as MessageStore  # noqa: F401
from .worker import StoreWorker as StorePort  # noqa: F401
