"""The building blocks the chapters share: networks, the ViT, EMA, SIGReg, masks and probes.

Blocks import only :mod:`jepabook.core` and each other, never a chapter.
"""
