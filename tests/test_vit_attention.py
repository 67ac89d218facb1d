"""blocks.vit's attention layout (issue 26): fewer copies, the same bits."""

import mlx.core as mx
import numpy as np
import pytest


@pytest.mark.parametrize("heads", [1, 3])
def test_self_attention_reads_the_same_bits_from_contiguous_q_k_v(heads):
    """Issue 26: self_attention copies qkv once into a (3, b, h, n, d/h) layout so the matmuls read q, k
    and v in place; the values and the gradient are the bits of the strided views the matmuls copied
    themselves before (same products, same order), so no chapter's results move."""
    from jepabook.blocks.nets import softmax_backward, softmax_forward
    from jepabook.blocks.vit import self_attention

    b, n, d = 4, 9, 24
    qkv = mx.random.normal((b, n, 3 * d), key=mx.random.key(2))
    w = mx.random.normal((b, n, d), key=mx.random.key(3))
    scale = (d // heads) ** -0.5

    @mx.custom_function
    def strided(t):  # the previous layout: q, k, v as strided views of qkv
        q, k, v = t.reshape(b, n, 3, heads, d // heads).transpose(2, 0, 3, 1, 4)
        p = softmax_forward(q @ k.swapaxes(-1, -2), -1, scale)
        return (p @ v).transpose(0, 2, 1, 3).reshape(b, n, d), p

    @strided.vjp
    def strided_vjp(t, cotangents, outputs):
        q, k, v = t.reshape(b, n, 3, heads, d // heads).transpose(2, 0, 3, 1, 4)
        d_o = cotangents[0].reshape(b, n, heads, d // heads).transpose(0, 2, 1, 3)
        p = outputs[1]
        d_s = softmax_backward(p, d_o @ v.swapaxes(-1, -2), -1, scale)
        grads = (d_s @ k, d_s.swapaxes(-1, -2) @ q, p.swapaxes(-1, -2) @ d_o)
        return mx.stack([g.transpose(0, 2, 1, 3) for g in grads], axis=2).reshape(b, n, 3 * d)

    for fn in (lambda f: f, mx.compile):
        ours = fn(mx.value_and_grad(lambda t: (self_attention(t, heads, scale) * w).sum()))
        ref = fn(mx.value_and_grad(lambda t: (strided(t)[0] * w).sum()))
        (v1, g1), (v2, g2) = ours(qkv), ref(qkv)
        assert np.array_equal(np.array(v1), np.array(v2)) and np.array_equal(np.array(g1), np.array(g2))
