"""The paper's ten operator categories (figure 2) and the rules that map an operator name to one.

An operator is classified by its own name. The groups follow the sections of torch's operator
documentation that the paper's categories are named after; spiking-specific functions
(heaviside, the surrogate spike functions) count as Activation. A name that no rule claims is
reported as UNMAPPED, never dropped.
"""
from __future__ import annotations

import re

POINTWISE = "Pointwise"
BLAS = "BLAS"
MATH = "Math"
TENSOR = "Tensor-related"
SAMPLING = "Sampling"
POOLING = "Pooling"
BACKWARD = "Backward"
ACTIVATION = "Activation"
LAYER = "Layer-computing"
DATA_LOADING = "Data-loading"
UNMAPPED = "unmapped"

CATEGORIES = (POINTWISE, BLAS, MATH, TENSOR, SAMPLING, POOLING, BACKWARD, ACTIVATION, LAYER, DATA_LOADING)
ALL_BUCKETS = CATEGORIES + (UNMAPPED,)

# The plugin wraps each batch fetch in a profiler range of this name; everything inside it is
# data loading, whatever operators it calls (indexing, copies, decoding).
DATA_LOADING_RANGE = "snnbench::data_loading"

_EXACT: dict[str, frozenset[str]] = {
    POINTWISE: frozenset({
        "add", "sub", "rsub", "mul", "div", "neg", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
        "pow", "sqrt", "rsqrt", "abs", "sign", "sgn", "clamp", "clamp_min", "clamp_max", "clip", "where",
        "lerp", "addcmul", "addcdiv", "floor", "ceil", "round", "trunc", "frac", "reciprocal", "fmod",
        "remainder", "maximum", "minimum", "fmax", "fmin", "square", "sin", "cos", "tan", "atan", "atan2",
        "sinh", "cosh", "erf", "erfc", "erfinv", "hypot", "xlogy", "true_divide", "floor_divide",
        "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_and", "logical_or",
        "logical_not", "logical_xor", "nan_to_num", "float_power", "mvlgamma", "lgamma", "digamma",
    }),
    BLAS: frozenset({
        "mm", "bmm", "addmm", "addbmm", "baddbmm", "matmul", "mv", "addmv", "dot", "vdot", "outer", "ger",
        "einsum", "tensordot", "_addmm_activation", "mkldnn_linear", "_mkldnn_linear",
    }),
    MATH: frozenset({
        "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "aminmax", "norm",
        "linalg_vector_norm", "std", "var", "std_mean", "var_mean", "cumsum", "cumprod", "logsumexp",
        "count_nonzero", "all", "any", "median", "mode", "eq", "ne", "gt", "ge", "lt", "le", "equal",
        "allclose", "isclose", "isnan", "isinf", "isfinite", "sort", "argsort", "topk", "kthvalue", "unique",
        "_unique2", "bincount", "histc", "stft", "istft", "fft_fft", "fft_rfft", "fft_ifft", "fft_irfft",
        "_fft_r2c", "_fft_c2r", "_fft_c2c", "trace", "diag", "tril", "triu", "cross", "cdist", "dist",
        "nansum", "nanmean", "bucketize", "searchsorted",
    }),
    TENSOR: frozenset({
        "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full",
        "full_like", "arange", "linspace", "logspace", "eye", "tensor", "scalar_tensor", "as_tensor",
        "from_numpy", "new_zeros", "new_ones", "new_empty", "new_full", "new_empty_strided", "copy", "to",
        "_to_copy", "clone", "contiguous", "view", "_unsafe_view", "view_as", "reshape", "flatten",
        "unflatten", "unsqueeze", "squeeze", "permute", "transpose", "t", "expand", "expand_as",
        "slice", "select", "index", "index_select", "index_put", "_index_put_impl", "index_add",
        "index_copy", "index_fill", "gather", "scatter", "scatter_add", "scatter_reduce", "cat", "concat",
        "stack", "hstack", "vstack", "split", "split_with_sizes", "chunk", "unsafe_chunk", "unsafe_split",
        "narrow", "as_strided", "detach", "alias", "fill", "zero", "masked_fill", "masked_select",
        "masked_scatter", "resize", "set", "unbind", "repeat", "repeat_interleave", "tile", "roll", "flip",
        "nonzero", "item", "_local_scalar_dense", "lift_fresh", "lift_fresh_copy", "one_hot", "unfold",
        "movedim", "moveaxis", "swapaxes", "numpy_T", "_reshape_alias", "type_as", "resize_as",
        "broadcast_to", "broadcast_tensors", "meshgrid", "diagonal", "take", "put", "_copy_from",
        "_copy_from_and_resize", "col2im", "im2col", "pad", "constant_pad_nd", "_pad_enum", "reflection_pad1d",
        "detach_", "result_type", "resolve_conj", "resolve_neg", "conj", "is_nonzero", "_has_compatible_shallow_copy_type", "align_tensors",
    }),
    SAMPLING: frozenset({
        "bernoulli", "poisson", "rand", "rand_like", "randn", "randn_like", "randint", "randint_like",
        "normal", "multinomial", "uniform", "random", "randperm", "exponential", "geometric", "log_normal",
        "cauchy", "_standard_gamma", "binomial",
    }),
    POOLING: frozenset({
        "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
        "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
        "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d", "adaptive_max_pool1d",
        "adaptive_max_pool2d", "adaptive_max_pool3d", "mkldnn_max_pool2d", "lp_pool2d", "max_unpool2d",
        "_max_pool2d_with_indices", "fractional_max_pool2d", "quantized_max_pool2d",
    }),
    ACTIVATION: frozenset({
        "relu", "relu6", "sigmoid", "tanh", "softmax", "_softmax", "log_softmax", "_log_softmax", "gelu",
        "elu", "selu", "celu", "leaky_relu", "hardtanh", "hardsigmoid", "hardswish", "silu", "mish",
        "softplus", "softsign", "threshold", "heaviside", "prelu", "_prelu_kernel", "glu", "logsigmoid",
        "log_sigmoid_forward", "rrelu", "tanhshrink", "softshrink", "hardshrink",
    }),
    LAYER: frozenset({
        "conv1d", "conv2d", "conv3d", "convolution", "_convolution", "conv_transpose1d", "conv_transpose2d",
        "mkldnn_convolution", "cudnn_convolution", "_slow_conv2d_forward", "thnn_conv2d", "_nnpack_spatial_convolution",
        "slow_conv_dilated2d", "linear", "bilinear", "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell",
        "gru_cell", "rnn_tanh_cell", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "mkldnn_rnn_layer",
        "_cudnn_rnn", "batch_norm", "native_batch_norm", "_batch_norm_impl_index", "_native_batch_norm_legit",
        "_native_batch_norm_legit_no_training", "layer_norm", "native_layer_norm", "group_norm",
        "native_group_norm", "instance_norm", "dropout", "native_dropout", "feature_dropout", "embedding", "embedding_bag", "cross_entropy_loss", "nll_loss",
        "nll_loss_forward", "nll_loss2d", "nll_loss_nd", "mse_loss", "l1_loss", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "smooth_l1_loss", "kl_div", "cosine_similarity",
        "scaled_dot_product_attention", "_scaled_dot_product_flash_attention",
    }),
}

# Patterns for families that the exact tables cannot enumerate, tried in this order.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (BACKWARD, re.compile(r"backward|autograd::|Backward\d*$", re.IGNORECASE)),
    (DATA_LOADING, re.compile(r"dataloader|data_loading|collate|__next__|soundfile|decode", re.IGNORECASE)),
    (POINTWISE, re.compile(r"^_foreach_")),  # optimiser updates: fused element-wise arithmetic
    # Spike functions of the SNN libraries (autograd functions named after their surrogate).
    (ACTIVATION, re.compile(r"sigmoid|superspike|heaviside|atan|triangle|spike|threshold", re.IGNORECASE)),
    (POOLING, re.compile(r"pool")),
    (LAYER, re.compile(r"conv|^cudnn_|^miopen_|_rnn|_lstm|_gru")),
    (SAMPLING, re.compile(r"rand|bernoulli|poisson|normal_$")),
    (BLAS, re.compile(r"gemm|gemv|^_?mkl_|^cublas")),
    (MATH, re.compile(r"^fft_|^_fft|^linalg_")),
)


def base_name(operator: str) -> str:
    """aten::add_ -> add; 'aten::mul.Tensor' -> mul. Non-aten names are returned as they are."""
    name = operator.strip()
    for prefix in ("aten::", "prim::", "quantized::"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            name = name.split(".", 1)[0]  # overload suffix
            if name.endswith("_") and not name.endswith("__"):
                name = name[:-1]  # in-place variant, same operator
            return name
    return name


def categorize(operator: str) -> str:
    """The one category of an operator name, or UNMAPPED."""
    for category, pattern in _PATTERNS[:2]:  # backward and data loading win over the operator's family
        if pattern.search(operator):
            return category
    name = base_name(operator)
    for category, names in _EXACT.items():
        if name in names:
            return category
    for category, pattern in _PATTERNS[2:]:
        if pattern.search(name):
            return category
    return UNMAPPED


def exact_table() -> dict[str, frozenset[str]]:
    """The exact-name tables (read-only view) for tests and documentation."""
    return dict(_EXACT)
