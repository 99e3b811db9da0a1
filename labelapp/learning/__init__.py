"""Pure PyTorch/NumPy machine learning for labelapp.

Nothing in this package imports Django: it can be tested, benchmarked and
reused alone.  Submodules are imported explicitly (``labelapp.learning.data``,
``labelapp.learning.models``, ...) so that importing this package stays cheap
and never pulls in torch.
"""
