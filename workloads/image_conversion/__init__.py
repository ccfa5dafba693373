"""Image-Conversion (workload 5): a ReLU MLP converted to an SNN by BindsNET, its tests."""
