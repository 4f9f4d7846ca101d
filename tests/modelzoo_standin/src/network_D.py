"""Stand-in discriminators: MaxPool downsampling except on GPU (CustomMaxPool2x2), as the ModelZoo chooses."""
from mindspore import context, nn, ops


class CustomMaxPool2x2(nn.Cell):
    def __init__(self):
        super().__init__()
        self.reduce_max = ops.ReduceMax()  # a primitive: Tensor.max(axis=) fails to compile under a second-order grad

    def construct(self, x):
        n, c, h, w = x.shape
        return self.reduce_max(ops.reshape(x, (n, c, h // 2, 2, w // 2, 2)), (3, 5))


def pool():
    return ops.MaxPool(kernel_size=2, strides=2) if context.get_context("device_target") != "GPU" else CustomMaxPool2x2()


class DNet4_4_Train(nn.Cell):
    def __init__(self, depthScale0, leakyReluLeak=0.2, sizeDecisionLayer=1, dimInput=3):
        super().__init__()
        self.dimEntryScale0 = depthScale0
        self.fromRGBLayers = nn.Conv2d(dimInput, depthScale0, 1, has_bias=True)
        self.decisionLayer = nn.Dense(16 * depthScale0, sizeDecisionLayer)
        self.leakyRelu = nn.LeakyReLU(leakyReluLeak)

    def head(self, x):
        return self.decisionLayer(ops.reshape(x, (x.shape[0], -1)))

    def construct(self, x, alpha=0.0):
        return self.head(self.leakyRelu(self.fromRGBLayers(x)))


class _Last(nn.Cell):
    """The previous scale's D as the next one uses it: its layers without its fromRGB input."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.dimEntryScale0 = net.dimEntryScale0
        self.fromRGBLayers = net.fromRGBLayers


class DNet4_4_Last(_Last):
    def construct(self, x):
        return self.net.head(x)


class DNetNext_Train(nn.Cell):
    def __init__(self, depthScale0, last_Dnet, leakyReluLeak=0.2, dimInput=3):
        super().__init__()
        self.last_Dnet = last_Dnet
        self.dimEntryScale0 = depthScale0
        self.last_fromRGBLayers = last_Dnet.fromRGBLayers
        self.fromRGBLayers = nn.Conv2d(dimInput, depthScale0, 1, has_bias=True)
        self.groupScale0 = nn.Conv2d(depthScale0, last_Dnet.dimEntryScale0, 3, has_bias=True)
        self.leakyRelu = nn.LeakyReLU(leakyReluLeak)
        self.avgPool2d = pool()

    def features(self, x):
        return self.avgPool2d(self.leakyRelu(self.groupScale0(self.leakyRelu(self.fromRGBLayers(x)))))

    def construct(self, x, alpha=0.0):
        y = self.leakyRelu(self.last_fromRGBLayers(self.avgPool2d(x)))
        return self.last_Dnet(alpha * y + (1 - alpha) * self.features(x))


class DNetNext_Last(_Last):
    def __init__(self, dNetNext_Train):
        super().__init__(dNetNext_Train)
        self.avgPool2d = pool()

    def construct(self, x):
        return self.net.last_Dnet(self.net.features(x))
