using LossKit.Workbench.Data;
using LossKit.Workbench.Experiments;
using LossKit.Workbench.Reports;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Experiments;

/// <summary>The fair-comparison protocol: what a seed fixes, noisy validation, equal tuning, paired reports, verification.</summary>
public sealed class FairComparisonTests
{
    private static RunConfig Tiny(string loss, int seed = 0, double lr = 0.01, string noise = "symmetric:0.3") =>
        new() { Data = "iris", Model = "mlp:8", Epochs = 2, Lr = lr, Loss = loss, Seed = seed, Noise = noise };

    [Fact]
    public void ASeedFixesSplitNoiseInitialWeightsAndBatchOrderForEveryLoss()
    {
        var ce = Trainer.Run(Tiny("ce")).Fingerprint!;
        var gce = Trainer.Run(Tiny("gce(q=0.7)", lr: 0.003)).Fingerprint!;
        var mae = Trainer.Run(Tiny("mae")).Fingerprint!;
        Assert.Equal(ce, gce);   // another loss, another learning rate: the same data, weights and order
        Assert.Equal(ce, mae);
        Assert.All(new[] { ce.Split, ce.TrainLabels, ce.ValidationLabels, ce.Init, ce.Order }, h => Assert.Matches("^[0-9a-f]{16}$", h));

        // Another seed changes each of the five (so the check can fail).
        var other = Trainer.Run(Tiny("ce", seed: 1)).Fingerprint!;
        Assert.NotEqual(ce.Split, other.Split);
        Assert.NotEqual(ce.TrainLabels, other.TrainLabels);
        Assert.NotEqual(ce.ValidationLabels, other.ValidationLabels);
        Assert.NotEqual(ce.Init, other.Init);
        Assert.NotEqual(ce.Order, other.Order);
    }

    [Fact]
    public void FingerprintsHashWhatTheTrainerUsed()
    {
        // The split hash is of the splitter's indices, the label hashes of the prepared labels.
        var source = DatasetCatalog.Load("iris");
        var data = PreparedData.Create(source, 3, SplitFractions.Default, NoiseSpec.Parse("symmetric:0.3"), validationNoise: true);
        var splits = DatasetSplitter.Split(source, 3, SplitFractions.Default);
        Assert.Equal(Fingerprint.Of(splits.TrainIndices, splits.ValidationIndices, splits.TestIndices), data.SplitHash);
        var record = Trainer.Run(Tiny("ce", seed: 3));
        Assert.Equal(data.SplitHash, record.Fingerprint!.Split);
        Assert.Equal(Fingerprint.Of(data.Train.RequireLabels()), record.Fingerprint.TrainLabels);
        Assert.Equal(Fingerprint.Of(data.Validation.RequireLabels()), record.Fingerprint.ValidationLabels);
    }

    [Fact]
    public void ValidationNoiseSameCorruptsValidationLabelsIndependentlyAndLeavesTrainAndTestAlone()
    {
        var source = DatasetCatalog.Load("digits");
        var noise = NoiseSpec.Parse("symmetric:0.4");
        var clean = PreparedData.Create(source, 7, SplitFractions.Default, noise, validationNoise: false);
        var noisy = PreparedData.Create(source, 7, SplitFractions.Default, noise, validationNoise: true);
        Assert.Null(clean.ValidationNoise);
        Assert.NotNull(noisy.ValidationNoise);
        // Training labels and test labels do not depend on the validation setting.
        Assert.Equal(clean.Train.RequireLabels(), noisy.Train.RequireLabels());
        Assert.Equal(clean.Test.RequireLabels(), noisy.Test.RequireLabels());
        // The validation labels are corrupted at about the rate (359 rows: 0.4 ± 4 standard errors).
        var vn = noisy.ValidationNoise!;
        Assert.Equal(clean.Validation.RequireLabels(), vn.CleanLabels);
        Assert.InRange(vn.RealisedRate, 0.4 - 4 * Math.Sqrt(0.24 / vn.Labels.Length), 0.4 + 4 * Math.Sqrt(0.24 / vn.Labels.Length));
        Assert.Equal(vn.Labels, noisy.Validation.RequireLabels());
        // An independent draw: not the training stream's first decisions replayed.
        var trainStream = noise.Apply(vn.CleanLabels, source.Classes, 7);
        Assert.NotEqual(trainStream.Labels, vn.Labels);
    }

    [Fact]
    public void ValidationNoiseIsPartOfTheConfigurationAndTheRecord()
    {
        var same = Tiny("ce");
        var clean = same with { ValidationNoise = "clean" };
        Assert.Equal("same", new RunConfig().ValidationNoise);
        Assert.NotEqual(same.Key(), clean.Key());
        var r = Trainer.Run(clean);
        Assert.Null(r.ValidationNoise);
        var s = Trainer.Run(same);
        Assert.NotNull(s.ValidationNoise);
        Assert.Equal("symmetric:0.3", s.ValidationNoise!.Spec);
        Assert.Throws<ArgumentException>(() => (same with { ValidationNoise = "noisy" }).Canonical());
    }

    [Fact]
    public void LabelsAndTuningNotesAreNotPartOfTheKey()
    {
        var c = Tiny("focal(gamma=2)");
        var labelled = c with { Label = "focal", Tuning = new TuningInfo(3, [0], "val_accuracy", 0.9, "lr=0.01") };
        Assert.Equal(c.Key(), labelled.Key());
        Assert.Equal("focal", Summary.NameOf(labelled.Canonical()));
    }

    [Fact]
    public void TuneSpecParsesAndRefusesBadGrids()
    {
        var t = TuneSpec.Parse("lr=1e-3,3e-3,1e-2; gamma=1,2,5; q=0.3,0.7; wd=0,1e-4");
        Assert.Equal(["lr", "gamma", "q", "weight_decay"], t.Axes.Select(a => a.Key));
        Assert.Equal(["lr", "weight_decay"], t.AxesFor("ce").Select(a => a.Key));          // ce has neither gamma nor q
        Assert.Equal(["lr", "gamma", "weight_decay"], t.AxesFor("focal").Select(a => a.Key));
        Assert.Equal(["lr", "q", "weight_decay"], t.AxesFor("gce(q=0.5)").Select(a => a.Key));
        foreach (string bad in new[] { "", "lr", "lr=", "lr=abc", "lr=-1", "lr=1e-3,1e-3", "lr=1; lr=2" })
            Assert.Throws<ArgumentException>(() => TuneSpec.Parse(bad));
    }

    [Fact]
    public void TuneGridSetsTheLossParameterAndTheLearningRate()
    {
        var t = TuneSpec.Parse("lr=0.001,0.01; gamma=1,5");
        var grid = t.Grid(Tiny("focal(gamma=2)").Canonical());
        Assert.Equal(4, grid.Count);
        Assert.Equal(["lr=0.001, gamma=1", "lr=0.001, gamma=5", "lr=0.01, gamma=1", "lr=0.01, gamma=5"], grid.Select(g => g.Chosen));
        Assert.Equal([0.001, 0.001, 0.01, 0.01], grid.Select(g => g.Config.Lr));
        Assert.Equal(["focal(gamma=1)", "focal(gamma=5)", "focal(gamma=1)", "focal(gamma=5)"], grid.Select(g => g.Config.Loss));
        Assert.Equal("gce(reduction=sum, q=0.3)", TuneSpec.WithArguments("gce(q=0.7, reduction=sum)", [("q", "0.3")]));
    }

    [Fact]
    public void EveryLossGetsTheSameNumberOfTrials()
    {
        var sweep = new SweepSpec { Base = Tiny("ce"), Losses = ["ce", "focal", "gce"], Noise = ["symmetric:0.3"], Seeds = [0, 1] };
        var t = TuneSpec.Parse("lr=0.001,0.01,0.1; gamma=1,2,5; q=0.3,0.7");
        var plans = Tuner.Plan(sweep, t, trials: null);
        Assert.Equal(3, plans.Count);
        Assert.All(plans, p => Assert.Equal(3, p.Candidates.Count));             // the smallest grid: ce's 3 learning rates
        Assert.Equal([3, 9, 6], plans.Select(p => p.GridSize));
        // The sample is seeded: the same plan twice.
        Assert.Equal(plans[1].Candidates.Select(c => c.Chosen), Tuner.Plan(sweep, t, null)[1].Candidates.Select(c => c.Chosen));
        // Without repetition.
        Assert.All(plans, p => Assert.Equal(p.Candidates.Count, p.Candidates.Select(c => c.Config.Key()).Distinct().Count()));
        // --trials 6: ce has only 3 configurations and runs them all; focal gets 6 of its 9; gce all 6.
        var six = Tuner.Plan(sweep, t, 6);
        Assert.Equal([3, 6, 6], six.Select(p => p.Candidates.Count));
        var trials = Tuner.Trials(plans, [0]);
        Assert.Equal(9, trials.Count);
        Assert.All(trials, c => Assert.Null(c.Label));
    }

    [Fact]
    public void SelectionTakesTheBestMeanValidationScoreAndReusesTheTrial()
    {
        using var tmp = new TempDir();
        var sweep = new SweepSpec { Base = Tiny("ce") with { Epochs = 3 }, Losses = ["ce"], Noise = ["symmetric:0.3"], Seeds = [0, 1] };
        var plans = Tuner.Plan(sweep, TuneSpec.Parse("lr=0.0001,0.03"), null);
        var trials = Tuner.Trials(plans, [0]);
        var outcome = ExperimentRunner.Run(trials, tmp.Path, ResultsStore.TuningFileName, filePattern: ResultsStore.TuningPattern);
        var byKey = outcome.Records.ToDictionary(r => r.Key);
        var selected = Tuner.Select(plans, [0], byKey, SelectMetric.ValNll);
        var chosen = Assert.Single(selected);
        // The slow rate leaves the validation NLL near log 3 after 3 epochs; the fast one does better.
        var scores = outcome.Records.Select(r => Tuner.Score(r, SelectMetric.ValNll)).ToArray();
        Assert.Equal(Array.IndexOf(scores, scores.Min()) == 0 ? 0.0001 : 0.03, chosen.Lr);
        Assert.Equal("ce", chosen.Label);
        Assert.Equal(2, chosen.Tuning!.Trials);
        Assert.Equal(scores.Min(), chosen.Tuning.Value);

        // The final run on the tuning seed is the trial, not a retrained copy (its timings are the trial's).
        var final = ExperimentRunner.Run([(chosen with { Seed = 0 }).Canonical()], tmp.Path, reuse: byKey);
        var trial = byKey[chosen.Key()];
        Assert.Equal(trial.TotalSeconds, final.Records[0].TotalSeconds);
        Assert.Equal("ce", final.Records[0].Config.Label);
        // Tuning trials are not results: a report of the folder sees only the final run.
        Assert.Single(ResultsStore.Load(tmp.Path).Records);
    }

    [Fact]
    public void PairedReportPairsBySeedAndRefusesRunsWhoseFingerprintsDiffer()
    {
        using var tmp = new TempDir();
        var spec = SweepTests.TinySpec(seeds: 3) with { Noise = ["symmetric:0.3"] };
        var records = ExperimentRunner.Run(spec.Expand(), tmp.Path).Records.ToList();
        var groups = PairedReport.Build(Summary.Build(records));
        var g = Assert.Single(groups);
        Assert.Equal("ce", g.Baseline);
        Assert.Equal(0, g.Unpaired);
        var acc = Assert.Single(g.ByMetric["accuracy"]);
        Assert.Equal("mae", acc.Loss);
        Assert.Equal(3, acc.N);
        double expected = records.Where(r => r.Config.Loss == "mae").OrderBy(r => r.Config.Seed).Select(r => r.Test.Accuracy)
            .Zip(records.Where(r => r.Config.Loss == "ce").OrderBy(r => r.Config.Seed).Select(r => r.Test.Accuracy), (a, b) => a - b).Average();
        Assert.Equal(expected, acc.DiffMean, 12);
        Assert.Equal(Verdict.TooFewSeeds, acc.Verdict);

        // A run whose data differ from the baseline's of the same seed is left out, and counted.
        int i = records.FindIndex(r => r.Config.Loss == "mae" && r.Config.Seed == 1);
        records[i] = records[i] with { Fingerprint = records[i].Fingerprint! with { Init = "0000000000000000" } };
        var tampered = Assert.Single(PairedReport.Build(Summary.Build(records)));
        Assert.Equal(1, tampered.Unpaired);
        Assert.Equal(2, tampered.ByMetric["accuracy"][0].N);

        // No baseline among the losses: no paired comparison.
        Assert.Empty(PairedReport.Build(Summary.Build(records), "focal"));
    }

    [Fact]
    public void VerifyFindsIdenticalRerunsAndNamesTheFirstDifference()
    {
        using var tmp = new TempDir();
        var records = ExperimentRunner.Run(SweepTests.TinySpec().Expand(), tmp.Path).Records;
        var loaded = ResultsStore.Load(tmp.Path).Records;   // through the file, as report --verify reads them
        var chosen = Verification.Choose(loaded, 2, seed: 5);
        Assert.Equal(2, chosen.Count);
        Assert.Equal(chosen, Verification.Choose(loaded, 2, seed: 5));
        Assert.All(chosen, r => Assert.True(Verification.Verify(r).Identical));

        var tampered = loaded[0] with { Test = loaded[0].Test with { Accuracy = loaded[0].Test.Accuracy + 1e-12 } };
        var v = Verification.Verify(tampered);
        Assert.False(v.Identical);
        Assert.StartsWith("$.test.accuracy:", v.Difference);
        var old = Verification.Verify(loaded[0] with { TrainerVersion = RunConfig.TrainerVersion - 1 });
        Assert.False(old.Identical);
        Assert.Contains("trainer version", old.Difference);
    }
}
