"""Image-Backprop (workloads 3 and 4): its configuration, its network, one module per framework, its tests."""
