"""ProgressiveGAN (stand-in), with the two traps of pytorch_GAN_zoo b75dee4 on current torch without a GPU:
integer Adam betas and updateAlpha's ``avgG.module``."""
import torch.optim as optim

from .base_GAN import BaseGAN, Config
from .networks.progressive_conv_net import DNet, GNet


class ProgressiveGAN(BaseGAN):
    def __init__(self, dimLatentVector=512, depthScale0=512, initBiasToZero=True, leakyness=0.2,
                 perChannelNormalization=True, miniBatchStdDev=False, equalizedlR=True, **kwargs):
        if "config" not in vars(self):
            self.config = Config()
        self.config.depthScale0 = depthScale0
        self.config.leakyReluLeak = leakyness
        self.config.depthOtherScales = []
        self.config.alpha = 0
        self.config.miniBatchStdDev = miniBatchStdDev
        BaseGAN.__init__(self, dimLatentVector, **kwargs)

    def getNetG(self):
        return GNet(self.config.latentVectorDim, self.config.depthScale0, self.config.leakyReluLeak,
                    self.config.dimOutput)

    def getNetD(self):
        return DNet(self.config.depthScale0, self.config.leakyReluLeak, self.config.miniBatchStdDev,
                    self.config.dimOutput)

    def getOptimizerD(self):
        return optim.Adam(filter(lambda p: p.requires_grad, self.netD.parameters()), betas=[0, 0.99],
                          lr=self.config.learningRate)

    def getOptimizerG(self):
        return optim.Adam(filter(lambda p: p.requires_grad, self.netG.parameters()), betas=[0, 0.99],
                          lr=self.config.learningRate)

    def addScale(self, depthNewScale):
        self.netG = self.getOriginalG()
        self.netD = self.getOriginalD()
        self.netG.addScale(depthNewScale)
        self.netD.addScale(depthNewScale)
        self.config.depthOtherScales.append(depthNewScale)
        self.updateSolversDevice()

    def updateAlpha(self, newAlpha):
        print("Changing alpha to %.3f" % newAlpha)
        self.getOriginalG().setNewAlpha(newAlpha)
        self.getOriginalD().setNewAlpha(newAlpha)
        if self.avgG:
            self.avgG.module.setNewAlpha(newAlpha)
        self.config.alpha = newAlpha
