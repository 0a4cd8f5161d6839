"""Phone calls over SIP/RTP: our own asyncio user agent (see `ua.py` for why not pjsua2)."""

from helpline.channels.phone.config import RegistrarConfig, SipConfig, parse_port_range
from helpline.channels.phone.ua import CallFailed, PhoneCall, SipUserAgent, TransferFailed, bridge

__all__ = ["CallFailed", "PhoneCall", "RegistrarConfig", "SipConfig", "SipUserAgent", "TransferFailed", "bridge",
           "parse_port_range"]
