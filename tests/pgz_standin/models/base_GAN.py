"""BaseGAN (stand-in): config, nets, avgG, optimizers and one training iteration, under pytorch_GAN_zoo's names."""
from copy import deepcopy

import torch
import torch.nn as nn


class Config:
    pass


class BaseGAN:
    def __init__(self, dimLatentVector, dimOutput=3, useGPU=True, baseLearningRate=0.001, lossMode="WGANGP",
                 lambdaGP=0.0, epsilonD=0.0, **kwargs):
        if lossMode != "WGANGP":
            raise ValueError("the stand-in knows WGANGP only")
        if "config" not in vars(self):
            self.config = Config()
        self.useGPU = useGPU and torch.cuda.is_available()
        self.device = torch.device("cuda:0" if self.useGPU else "cpu")
        self.config.noiseVectorDim = self.config.latentVectorDim = dimLatentVector
        self.config.dimOutput = dimOutput
        self.config.learningRate = baseLearningRate
        self.config.lambdaGP, self.config.epsilonD = lambdaGP, epsilonD
        self.netD = self.getNetD()
        self.netG = self.getNetG()
        self.updateSolversDevice()

    def buildAvG(self):
        self.avgG = deepcopy(self.getOriginalG())
        for p in self.avgG.parameters():
            p.requires_grad = False
        if self.useGPU:
            self.avgG = nn.DataParallel(self.avgG)

    def updateSolversDevice(self, buildAvG=True):
        if buildAvG:
            self.buildAvG()
        if self.useGPU and not isinstance(self.netD, nn.DataParallel):
            self.netD, self.netG = nn.DataParallel(self.netD), nn.DataParallel(self.netG)
        self.optimizerD = self.getOptimizerD()
        self.optimizerG = self.getOptimizerG()

    def buildNoiseData(self, n_samples):
        return torch.randn(n_samples, self.config.noiseVectorDim, device=self.device), None

    def optimizeParameters(self, input_batch):
        real = input_batch.to(self.device)
        n = real.size(0)
        self.optimizerD.zero_grad()
        pred_real = self.netD(real, False)
        fake = self.netG(self.buildNoiseData(n)[0]).detach()
        loss_d = self.netD(fake, False).mean() - pred_real.mean()
        if self.config.lambdaGP > 0:
            eps = torch.rand(n, 1, 1, 1, device=self.device)
            mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(self.netD(mixed, False).sum(), mixed, create_graph=True)
            loss_d = loss_d + self.config.lambdaGP * ((grad.reshape(n, -1).norm(dim=1) - 1) ** 2).mean()
        if self.config.epsilonD > 0:
            loss_d = loss_d + (pred_real[:, 0] ** 2).sum() * self.config.epsilonD
        loss_d.backward()
        self.optimizerD.step()
        self.optimizerG.zero_grad()
        self.optimizerD.zero_grad()
        pred_fake, _ = self.netD(self.netG(self.buildNoiseData(n)[0]), True)
        loss_g = -pred_fake.mean()
        loss_g.backward()
        self.optimizerG.step()
        for p, avg_p in zip(self.getOriginalG().parameters(), self.getOriginalAvgG().parameters()):
            avg_p.mul_(0.999).add_(p.data, alpha=0.001)
        return {"lossD": loss_d.item(), "lossG": loss_g.item()}

    def getOriginalG(self):
        return self.netG.module if isinstance(self.netG, nn.DataParallel) else self.netG

    def getOriginalAvgG(self):
        return self.avgG.module if isinstance(self.avgG, nn.DataParallel) else self.avgG

    def getOriginalD(self):
        return self.netD.module if isinstance(self.netD, nn.DataParallel) else self.netD
