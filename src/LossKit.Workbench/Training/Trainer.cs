using System.Diagnostics;
using LossKit.Core;
using LossKit.Metrics;
using LossKit.Workbench.Data;
using LossKit.Workbench.Models;

namespace LossKit.Workbench.Training;

/// <summary>
/// Trains one model on one data set with one loss and returns its <see cref="RunRecord"/>.
/// </summary>
/// <remarks>
/// <para>Per minibatch: gather the rows (seeded shuffle each epoch), forward, the loss's fused value and gradient
/// ∂(mean loss)/∂logits, backward, one optimizer step with the scheduled learning rate. With
/// <see cref="RunConfig.FusedHead"/> the output layer and the loss are one <see cref="LossKit.LargeVocabulary.LinearCrossEntropyLoss"/>
/// call between the hidden layers' forward and backward. Every buffer is allocated
/// before the first epoch, sized for the batch size; the loop allocates nothing itself (the loss call allocates a few
/// small objects).</para>
/// <para>Determinism: the split, the noise, the initial weights and every epoch's minibatch order come from
/// <see cref="SeededRng"/> streams derived from the seed; LossKit's kernels and <see cref="MatMul"/> give the same
/// bits for any thread count. The same configuration therefore gives the same record, timings aside.</para>
/// <para>Nothing of the model outlives the call: memory depends on the data set and the model, not on how many runs
/// a process makes.</para>
/// </remarks>
public static class Trainer
{
    /// <summary>Rows per chunk when computing validation and test logits.</summary>
    public const int EvalBatch = 512;

    /// <summary>Runs <paramref name="config"/>. <paramref name="source"/> is the loaded data set (loaded from the catalog
    /// when null); <paramref name="onEpoch"/> is called after every epoch.</summary>
    public static RunRecord Run(RunConfig config, Dataset? source = null, Action<EpochRecord>? onEpoch = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var total = Stopwatch.StartNew();
        var (c, data) = Prepare(config, source);
        return Run(c, data, onEpoch, total);
    }

    /// <summary>The canonical configuration and its prepared data (split, noise, standardisation), ready for
    /// <see cref="Run(RunConfig, PreparedData, Action{EpochRecord}?, Stopwatch?)"/>.</summary>
    public static (RunConfig Config, PreparedData Data) Prepare(RunConfig config, Dataset? source = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var c = config.Canonical();
        source ??= DatasetCatalog.Load(c.Data, c.DataDir, c.Target);
        return (c, PreparedData.Create(source, c.Seed, c.ParseSplit(), c.ParseNoise(), c.ParseValidationNoise()));
    }

    /// <summary>Runs the canonical <paramref name="c"/> on data from <see cref="Prepare"/>; <paramref name="total"/>, when given,
    /// is the stopwatch the record's total time is read from.</summary>
    public static RunRecord Run(RunConfig c, PreparedData data, Action<EpochRecord>? onEpoch, Stopwatch? total = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(data);
        total ??= Stopwatch.StartNew();
        var loss = c.CreateLoss();
        var head = c.FusedHead ? c.CreateFusedHead() : null;
        int k = data.Classes, d = data.Features;
        if (k < 2) throw new ArgumentException($"data set '{c.Data}' has {k} class; a classifier needs at least 2.");
        if (loss is LossKit.Binary.TwoLogitBinaryLoss && k != 2)
            throw new ArgumentException($"loss '{c.Loss}' is a binary loss, but data set '{c.Data}' has {k} classes; use it on a two-class data set such as breast_cancer.");
        var model = Mlp.Create(c.ParseModel(), d, k);
        model.Initialize(SeededRng.ForPurpose(c.Seed, "init"), c.ParseInit());
        string initHash = Fingerprint.Of(model.Parameters);
        string orderHash = "";

        var train = data.Train;
        int n = train.Rows;
        int batch = Math.Min(c.BatchSize, n);
        int stepsPerEpoch = (n + batch - 1) / batch;
        var schedule = new LearningRateSchedule(c.Lr, stepsPerEpoch * c.Epochs, c.Warmup, c.ParseSchedule());
        var optimizer = Optimizer.ForModel(model, c.ParseOptimizer(), c.WeightDecay, c.Momentum);

        var ws = model.CreateWorkspace(batch);
        var evalWs = model.CreateWorkspace(Math.Min(EvalBatch, Math.Max(data.Validation.Rows, data.Test.Rows)));
        var batchX = new float[batch * d];
        var batchY = new int[batch];
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var shuffle = SeededRng.ForPurpose(c.Seed, "shuffle");
        var valLogits = new float[data.Validation.Rows * k];
        var valY = data.Validation.RequireLabels();
        var trainY = train.RequireLabels();
        var earlyStop = c.ParseEarlyStop();
        bool keepBest = earlyStop != EarlyStopKind.None || c.ParseModelEpoch() == ModelEpochKind.Best;
        float[]? best = keepBest ? new float[model.Parameters.Length] : null;
        double bestScore = double.NaN, bestTie = double.NaN;
        int bestEpoch = 0, sinceBest = 0;
        bool diverged = false, stoppedEarly = false;
        DivergenceInfo? divergence = null;
        var epochs = new List<EpochRecord>(c.Epochs);
        int step = 0;
        var sw = new Stopwatch();

        for (int epoch = 1; epoch <= c.Epochs && !diverged; epoch++)
        {
            sw.Restart();
            shuffle.Shuffle(order.AsSpan());
            if (epoch == 1) orderHash = Fingerprint.Of(order);
            double lossSum = 0;
            float lr = 0;
            for (int start = 0; start < n; start += batch)
            {
                int rows = Math.Min(batch, n - start);
                Minibatch.Gather(train.Features, d, trainY, order.AsSpan(start, rows), batchX, batchY);
                var x = batchX.AsSpan(0, rows * d);
                float value = head is null ? Step(model, ws, x, rows, loss, batchY) : FusedStep(model, ws, x, rows, head, batchY);
                if (!float.IsFinite(value))
                {
                    diverged = true;
                    divergence = new DivergenceInfo(epoch, start / batch + 1, step + 1, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    lossSum = double.NaN;
                    break;
                }
                lossSum += (double)value * rows;
                lr = schedule.At(step++);
                optimizer.Step(model.Parameters, model.Gradients, lr);
                if (loss is IStatefulLoss stateful) stateful.Step(lr);   // e.g. auc_m's a, b, α
            }
            double trainSeconds = sw.Elapsed.TotalSeconds;

            sw.Restart();
            model.Predict(evalWs, data.Validation.Features, valLogits);
            double valLoss = loss.Compute<float>(valLogits, k, valY);
            double valAcc = ClassificationMetrics.Accuracy<float>(valLogits, k, valY);
            double valNll = SafeNll(valLogits, k, valY);
            double evalSeconds = sw.Elapsed.TotalSeconds;
            var record = new EpochRecord(epoch, lossSum / n, valLoss, valAcc, valNll, lr, trainSeconds, evalSeconds);
            epochs.Add(record);
            onEpoch?.Invoke(record);
            if (diverged) break;

            if (best is not null)
            {
                // Lower is better: the early-stopping criterion, else validation accuracy with ties to the lower
                // validation NLL (then the earlier epoch).
                double score = earlyStop == EarlyStopKind.ValLoss ? valLoss : -valAcc;
                double tie = earlyStop == EarlyStopKind.None ? valNll : 0;
                if (bestEpoch == 0 || score < bestScore || (score == bestScore && tie < bestTie))
                {
                    bestScore = score;
                    bestTie = tie;
                    bestEpoch = epoch;
                    sinceBest = 0;
                    model.Parameters.CopyTo(best, 0);
                }
                else if (earlyStop != EarlyStopKind.None && ++sinceBest >= c.Patience)
                {
                    stoppedEarly = true;
                    break;
                }
            }
            else bestEpoch = epoch;
        }
        if (best is not null && bestEpoch > 0) best.CopyTo(model.Parameters, 0);

        // Final evaluation: temperature fitted on validation, applied to test.
        model.Predict(evalWs, data.Validation.Features, valLogits);
        var test = data.Test;
        var testY = test.RequireLabels();
        var testLogits = new float[test.Rows * k];
        model.Predict(evalWs, test.Features, testLogits);
        double temperature = 1;
        try
        {
            temperature = TemperatureScaling.Fit<float>(valLogits, k, valY);
        }
        catch (ArgumentException)
        {
            // NaN or +∞ logits (a diverged run): leave the logits unscaled.
        }
        var scaled = new float[testLogits.Length];
        TemperatureScaling.Apply<float>(testLogits, temperature, scaled);

        return new RunRecord
        {
            Key = c.Key(),
            Config = c,
            Dataset = new DataInfo(c.Data, d, k, n, data.Validation.Rows, test.Rows, data.UsesProvidedTest) { ClassNames = train.ClassNames },
            Noise = new NoiseInfo(data.Noise.Spec.ToString(), data.Noise.Spec.Rate, data.Noise.RealisedRate, data.Noise.Changed),
            ValidationNoise = data.ValidationNoise is { } vn ? new NoiseInfo(vn.Spec.ToString(), vn.Spec.Rate, vn.RealisedRate, vn.Changed) : null,
            Fingerprint = new Fingerprint(data.SplitHash, Fingerprint.Of(trainY), Fingerprint.Of(valY), initHash, orderHash),
            Epochs = epochs,
            BestEpoch = bestEpoch,
            StoppedEarly = stoppedEarly,
            Diverged = diverged,
            Divergence = divergence,
            Temperature = temperature,
            Test = TestMetrics.From(ClassificationReport.Evaluate<float>(testLogits, k, testY, c.Bins)),
            TestCalibrated = TestMetrics.From(ClassificationReport.Evaluate<float>(scaled, k, testY, c.Bins)),
            Reliability = Bins(testLogits, k, testY, c.Bins),
            ReliabilityCalibrated = Bins(scaled, k, testY, c.Bins),
            TrainSeconds = epochs.Sum(e => e.Seconds),
            TotalSeconds = total.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Forward, the loss's value and ∂loss/∂logits, backward: <see cref="Mlp.Gradients"/> ready.</summary>
    private static float Step(Mlp model, MlpWorkspace ws, ReadOnlySpan<float> x, int rows, IClassificationLoss loss, int[] y)
    {
        int k = model.Outputs;
        var logits = model.Forward(ws, x, rows);
        float value = loss.Compute<float>(logits, k, y.AsSpan(0, rows), default, ws.OutputGradient.AsSpan(0, rows * k));
        if (float.IsFinite(value)) model.Backward(ws, x, rows);
        return value;
    }

    /// <summary>The same with a fused head: the hidden layers forward, then linear_ce gives the loss and the output
    /// layer's gradients (and ∂loss/∂ its input) without the batch's logits, then the hidden layers backward.</summary>
    private static float FusedStep(Mlp model, MlpWorkspace ws, ReadOnlySpan<float> x, int rows, LossKit.LargeVocabulary.LinearCrossEntropyLoss head, int[] y)
    {
        int last = model.Layers - 1, width = model.HeadInputs;
        var h = model.ForwardHidden(ws, x, rows);
        float value = head.Compute(h, model.Weights(last), model.Bias(last), rows, width, model.Outputs, y.AsSpan(0, rows),
            gradHidden: last > 0 ? ws.HeadInputGradient.AsSpan(0, rows * width) : default,
            gradWeight: model.WeightGradients(last), gradBias: model.BiasGradients(last));
        if (float.IsFinite(value)) model.BackwardHidden(ws, x, rows);
        return value;
    }

    private static double SafeNll(float[] logits, int k, int[] y)
    {
        try { return ClassificationMetrics.NegativeLogLikelihood<float>(logits, k, y); }
        catch (ArgumentException) { return double.NaN; }
    }

    private static BinRecord[] Bins(float[] logits, int k, int[] y, int bins)
    {
        try { return Calibration.ReliabilityDiagram<float>(logits, k, y, bins).Select(BinRecord.From).ToArray(); }
        catch (ArgumentException) { return []; } // a row without a defined softmax (diverged run)
    }
}
