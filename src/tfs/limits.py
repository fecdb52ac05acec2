"""Published limits of what one request may carry (see README, "Limits")."""

MAX_ID_LENGTH = 64
MAX_STATUS_LENGTH = 32
MAX_ITEMS_PER_ORDER = 100
MAX_HISTORIES_PER_ITEM = 100
MAX_ERRORS_PER_ITEM = 50
MAX_TRACKING_NUMBER_LENGTH = 128
MAX_URL_LENGTH = 2048
MAX_EVENT_TYPE_LENGTH = 64
MAX_NOTE_LENGTH = 4000
MAX_ERROR_FIELD_LENGTH = 128
MAX_ERROR_CODE_LENGTH = 64
MAX_ERROR_MESSAGE_LENGTH = 1000
MAX_DESCRIPTION_LENGTH = 500
MAX_QUANTITY = 1_000_000
# At most this many Error entries in one 400; the rest are summarised in the last one.
MAX_REPORTED_FAULTS = 100
MAX_EVENT_DATE_LENGTH = 64
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_CORRELATION_ID_LENGTH = 128
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Values of one repeatable filter (`mcOrderId`, `orderId`) on a read.
MAX_FILTER_VALUES = 100
# The `status` filter of a vendor's order pages walks the vendor's orders in page order (no
# index by status: docs/storage.md) and looks at no more than this many per page; a page may
# then hold fewer orders than asked, even none, and its nextCursor goes on from there.
STATUS_SCAN_ORDERS = 10_000
# Reads of an order show each item's most recently received history entries and errors, at
# most this many (fewer where the answer would pass MAX_ANSWER_BYTES); the history pages hold
# them all.
HISTORY_SHOWN_PER_ITEM = 20
# No answer is larger than this: a page ends early (its cursor goes on from there), an order
# shows fewer recent entries per item, a status update whose answer would pass it is refused.
MAX_ANSWER_BYTES = 1_000_000

# --- The catalog (tfs/catalog; docs/catalog.md) ---
# An import document: its size, and what it may hold. A catalog answer holds at most a whole
# program (Mastercard's catalog reads have no pages), so these bound it too.
MAX_CATALOG_DOCUMENT_BYTES = 64 * 1024 * 1024
MAX_CATALOG_LEVELS = 10_000
MAX_CATALOG_DEPTH = 16
MAX_REWARD_ITEMS = 100_000
MAX_PROGRAM_LANGUAGES = 20
MAX_ITEM_CATALOGS = 100
MAX_ITEM_PRODUCT_CODES = 100
MAX_ITEM_KEYWORDS = 100
MAX_REDEMPTION_FEES = 20
MAX_PRODUCT_CODE_LENGTH = 64
MAX_KEYWORD_LENGTH = 64
# Mastercard's maxLengths (TFS 1.0.4 schemas Catalog, RewardItem, RedemptionFees).
MAX_CATALOG_NAME_LENGTH = 40
MAX_ITEM_TEXT_LENGTH = 150
MAX_FEE_DESCRIPTION_LENGTH = 50
MAX_LABEL_LENGTH = 4000
# A `keyword` query: its length and the words it may hold (all required).
MAX_KEYWORD_QUERY_LENGTH = 200
MAX_KEYWORD_QUERY_WORDS = 10
# Catalog answers are kept rendered, by catalog version, up to this many bytes per process.
CATALOG_CACHE_BYTES = 64 * 1024 * 1024
