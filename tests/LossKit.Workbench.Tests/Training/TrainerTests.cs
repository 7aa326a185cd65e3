using LossKit.Kernels;
using LossKit.Workbench.Data;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class TrainerTests
{
    /// <summary>Three well-separated Gaussian blobs in 4 dimensions.</summary>
    internal static Dataset Blobs(int perClass = 60, int seed = 1)
    {
        var rng = new SeededRng((ulong)seed);
        const int k = 3, d = 4;
        var x = new float[perClass * k * d];
        var y = new int[perClass * k];
        for (int c = 0; c < k; c++)
            for (int i = 0; i < perClass; i++)
            {
                int r = c * perClass + i;
                y[r] = c;
                for (int j = 0; j < d; j++)
                    x[r * d + j] = (j == c ? 5f : 0f) + (float)(rng.NextDouble() - 0.5);
            }
        return new Dataset("blobs", DatasetTask.Classification, x, d, y, null, ["a", "b", "c"], null);
    }

    private static RunConfig Small(string loss = "ce", int seed = 0) => new()
    {
        Data = "iris", Model = "mlp:8", Loss = loss, Seed = seed, Epochs = 4, BatchSize = 16, Lr = 0.01,
    };

    [Theory]
    [InlineData("adamw", "linear")]
    [InlineData("sgd", "linear")]
    [InlineData("adamw", "mlp:16")]
    [InlineData("sgd", "mlp:16,8")]
    public void LossDecreasesOnSeparableData(string optimizer, string model)
    {
        var config = new RunConfig
        {
            Data = "iris", Model = model, Optimizer = optimizer, Lr = optimizer == "sgd" ? 0.05 : 0.01, Epochs = 15, BatchSize = 16,
        };
        var r = Trainer.Run(config, Blobs());
        Assert.False(r.Diverged);
        Assert.Equal(15, r.Epochs.Count);
        Assert.True(r.Epochs[^1].TrainLoss < 0.5 * r.Epochs[0].TrainLoss,
            $"train loss {r.Epochs[0].TrainLoss} → {r.Epochs[^1].TrainLoss}");
        Assert.True(r.Epochs[^1].ValLoss < r.Epochs[0].ValLoss);
        Assert.True(r.Test.Accuracy >= 0.95, $"test accuracy {r.Test.Accuracy}");
    }

    [Fact]
    public void SameSeedGivesIdenticalRecord()
    {
        var a = Trainer.Run(Small(seed: 3));
        var b = Trainer.Run(Small(seed: 3));
        Assert.Equal(a.WithoutTimings().ToJson(), b.WithoutTimings().ToJson());
        Assert.Equal(a.Key, b.Key);
    }

    [Fact]
    public void SameSeedGivesIdenticalRecordForAnyThreadCount()
    {
        Parallelism.MaxThreads = 1;
        var a = Trainer.Run(Small(seed: 2) with { Data = "digits", Model = "mlp:64", Epochs = 2, BatchSize = 300 });
        Parallelism.MaxThreads = 4;
        var b = Trainer.Run(Small(seed: 2) with { Data = "digits", Model = "mlp:64", Epochs = 2, BatchSize = 300 });
        Assert.Equal(a.WithoutTimings().ToJson(), b.WithoutTimings().ToJson());
    }

    [Fact]
    public void DifferentSeedsDiffer()
    {
        var a = Trainer.Run(Small(seed: 0));
        var b = Trainer.Run(Small(seed: 1));
        Assert.NotEqual(a.Key, b.Key);
        Assert.NotEqual(a.Epochs.Select(e => e.TrainLoss), b.Epochs.Select(e => e.TrainLoss));
    }

    [Fact]
    public void RecordRoundTripsThroughJson()
    {
        var r = Trainer.Run(Small("focal(gamma=2)") with { Noise = "symmetric:0.2" });
        string json = r.ToJson();
        Assert.DoesNotContain('\n', json);
        var back = RunRecord.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal("focal", back.Config.Loss); // gamma=2 is focal's default: canonical spec
        Assert.Equal(r.Config.Bins, back.Reliability.Count);
        Assert.Contains("\"test_calibrated\"", json);
        Assert.Contains("\"realised_rate\"", json);
        Assert.Null(back.Test.Auroc);   // K = 3
        Assert.Null(back.Test.Top5);    // K ≤ 5
    }

    [Fact]
    public void BinaryDataHasAuroc()
    {
        var r = Trainer.Run(new RunConfig { Data = "breast_cancer", Model = "linear", Epochs = 20 });
        Assert.NotNull(r.Test.Auroc);
        Assert.InRange(r.Test.Auroc!.Value, 0.9, 1.0);
    }

    [Fact]
    public void NoiseOnlyTouchesTrainingLabels()
    {
        var source = DatasetCatalog.Load("digits");
        var clean = DatasetSplitter.Split(source, 5);
        var data = PreparedData.Create(source, 5, SplitFractions.Default, NoiseSpec.Parse("symmetric:0.4"));
        Assert.Equal(clean.Validation.RequireLabels(), data.Validation.RequireLabels());
        Assert.Equal(clean.Test.RequireLabels(), data.Test.RequireLabels());
        Assert.Equal(clean.Train.RequireLabels(), data.Noise.CleanLabels);
        int changed = clean.Train.RequireLabels().Zip(data.Train.RequireLabels()).Count(p => p.First != p.Second);
        Assert.Equal(data.Noise.Changed, changed);
        Assert.InRange(data.Noise.RealisedRate, 0.35, 0.45);

        var r = Trainer.Run(new RunConfig { Data = "digits", Noise = "symmetric:0.4", Seed = 5, Epochs = 1 }, source);
        Assert.Equal(data.Noise.RealisedRate, r.Noise.RealisedRate);
        Assert.Equal(0.4, r.Noise.Rate);
        Assert.Equal("symmetric:0.4", r.Noise.Spec);
    }

    [Fact]
    public void StandardisationIsFittedOnTrainOnly()
    {
        var data = PreparedData.Create(DatasetCatalog.Load("wine"), 0, SplitFractions.Default, NoiseSpec.None);
        for (int j = 0; j < data.Features; j++)
        {
            double mean = 0;
            for (int r = 0; r < data.Train.Rows; r++) mean += data.Train.Features[r * data.Features + j];
            Assert.Equal(0, mean / data.Train.Rows, 1e-4);
        }
    }

    [Theory]
    [InlineData("val_loss")]
    [InlineData("val_accuracy")]
    public void EarlyStoppingStopsAndRestoresBestEpoch(string on)
    {
        // Heavy noise and many epochs: validation stops improving long before the end.
        var config = new RunConfig
        {
            Data = "digits", Noise = "symmetric:0.6", Epochs = 60, EarlyStop = on, Patience = 3, Lr = 0.01,
        };
        var r = Trainer.Run(config);
        Assert.True(r.StoppedEarly);
        Assert.True(r.Epochs.Count < 60);
        Assert.Equal(r.Epochs.Count - 3, r.BestEpoch);
        var best = r.Epochs[r.BestEpoch - 1];
        if (on == "val_loss") Assert.Equal(r.Epochs.Min(e => e.ValLoss), best.ValLoss);
        else Assert.Equal(r.Epochs.Max(e => e.ValAccuracy), best.ValAccuracy);
    }

    [Fact]
    public void EarlyStoppingIsOffByDefault()
    {
        var r = Trainer.Run(Small());
        Assert.False(r.StoppedEarly);
        Assert.Equal(4, r.Epochs.Count);
        Assert.Equal(4, Trainer.Run(Small() with { ModelEpoch = "last" }).BestEpoch);
    }

    [Fact]
    public void The_tested_model_is_the_best_validation_epoch_by_default()
    {
        // wine: validation accuracy peaks before the last of 40 epochs (the 0.943 against 0.886).
        var config = new RunConfig { Data = "wine", Epochs = 40 };
        var best = Trainer.Run(config);
        var last = Trainer.Run(config with { ModelEpoch = "last" });
        Assert.Equal(40, last.BestEpoch);
        double top = best.Epochs.Max(e => e.ValAccuracy);
        Assert.Equal(top, best.Epochs[best.BestEpoch - 1].ValAccuracy);
        Assert.Equal(best.Epochs.First(e => e.ValAccuracy == top && e.ValNll == best.Epochs.Where(x => x.ValAccuracy == top).Min(x => x.ValNll)).Epoch, best.BestEpoch);
        Assert.True(best.BestEpoch < 40, $"best epoch {best.BestEpoch}");
        Assert.Equal(best.Epochs.Select(e => e.ValAccuracy), last.Epochs.Select(e => e.ValAccuracy));   // same training, another epoch tested
        Assert.Throws<ArgumentException>(() => (config with { ModelEpoch = "first" }).Canonical());
    }

    [Fact]
    public void A_diverged_run_records_the_epoch_and_step()
    {
        var r = Trainer.Run(new RunConfig { Data = "wine", Lr = 1e6, Epochs = 5, Model = "mlp:8" });
        Assert.True(r.Diverged);
        var d = Assert.IsType<DivergenceInfo>(r.Divergence);
        Assert.Equal(r.Epochs.Count, d.Epoch);
        Assert.InRange(d.Step, 1, 4);   // 106 training rows in batches of 32
        Assert.True(d.GlobalStep >= d.Step);
        Assert.Null(Trainer.Run(Small()).Divergence);
    }

    [Theory]
    [InlineData("ce(reduction=sum)", "mean-reduced")]
    [InlineData("nope", "Unknown loss")]
    public void BadLossesAreExplained(string loss, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Run(Small(loss)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void RegressionDataIsRejected()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Run(Small() with { Data = "diabetes" }));
        Assert.Contains("regression", e.Message);
    }

    [Fact]
    public void CanonicalConfigIsStable()
    {
        var a = new RunConfig { Data = "Fashion_MNIST", Loss = "focal( gamma = 2 )", Noise = "Symmetric:0.40", Optimizer = "AdamW", Model = "MLP:64" };
        var c = a.Canonical();
        Assert.Equal("fashion-mnist", c.Data);
        Assert.Equal("focal", c.Loss);
        Assert.Equal("symmetric:0.4", c.Noise);
        Assert.Equal("adamw", c.Optimizer);
        Assert.Equal("mlp:64", c.Model);
        Assert.Equal(a.Key(), c.Key());
        Assert.Equal(c.Key(), (c with { DataDir = "/elsewhere" }).Key());
        Assert.NotEqual(c.Key(), (c with { Seed = 1 }).Key());
    }

    [Fact]
    public void ScheduleWarmsUpThenDecaysToZero()
    {
        var s = new LearningRateSchedule(0.1, 100, 0.1, ScheduleKind.Cosine);
        Assert.Equal(0.01f, s.At(0), 6);
        Assert.Equal(0.1f, s.At(9), 6);
        Assert.Equal(0.1f, s.At(10), 6);
        Assert.True(s.At(50) < 0.1f && s.At(50) > 0.04f);
        Assert.True(s.At(99) < 0.001f);
        var constant = new LearningRateSchedule(0.1, 100, 0, ScheduleKind.Constant);
        Assert.Equal(0.1f, constant.At(0));
        Assert.Equal(0.1f, constant.At(99));
    }

    [Fact]
    public void SgdMatchesPyTorchUpdateRule()
    {
        var seg = new[] { new ParameterSegment(0, 2, 0.5f), new ParameterSegment(2, 1, 0f) };
        var opt = Optimizer.Create(OptimizerKind.Sgd, 3, seg, 0.9f);
        float[] w = [1, -2, 3];
        float[] g = [0.1f, 0.2f, 0.3f];
        opt.Step(w, g, 0.1f);
        // v = g + λw; w -= lr v
        Assert.Equal(1 - 0.1f * (0.1f + 0.5f), w[0], 6);
        Assert.Equal(-2 - 0.1f * (0.2f - 1f), w[1], 6);
        Assert.Equal(3 - 0.1f * 0.3f, w[2], 6);
        float v2 = 0.9f * 0.3f + 0.3f;
        float expected = w[2] - 0.1f * v2;
        opt.Step(w, g, 0.1f);
        Assert.Equal(expected, w[2], 6);
    }

    [Fact]
    public void AdamWFirstStepIsLearningRateTimesSign()
    {
        var seg = new[] { new ParameterSegment(0, 3, 0f) };
        var opt = Optimizer.Create(OptimizerKind.AdamW, 3, seg, 0);
        float[] w = [0, 0, 0];
        opt.Step(w, [0.5f, -2f, 1e-3f], 0.01f);
        Assert.Equal(-0.01f, w[0], 5);
        Assert.Equal(0.01f, w[1], 5);
        Assert.Equal(-0.01f, w[2], 4);
    }
}
