"""confcall: conference callback over E1/T1 trunks driven through DAHDI.

Data flows one way: span (`confcall.dahdi`) → media engine (`confcall.dsp`) → call control
(`confcall.conference`) → rating (`confcall.rating`) → store (`confcall.store`).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
