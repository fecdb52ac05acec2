"""Traditional Fulfillment Service: vendors report reward-order status; the platform hears it."""

__version__ = "0.1.0"
