namespace LossKit.Workbench.Training;

/// <summary>The option checks and the divergence stop that the task trainers (ranking, retrieval, regression) share.</summary>
internal static class TrainerChecks
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (of the run's <c>config</c>) when
    /// <paramref name="value"/> of <paramref name="option"/> is below <paramref name="min"/>:
    /// <c>--epochs 0: expected at least 1.</c>, with <paramref name="note"/> after the bound when given.</summary>
    public static void AtLeast(int value, int min, string option, string note = "")
    {
        if (value < min) throw new ArgumentOutOfRangeException("config", value, $"{option} {value}: expected at least {min}{note}.");
    }

    /// <summary>Stops a run whose minibatch loss is no longer finite.</summary>
    public static void ThrowIfDiverged(float value, int epoch)
    {
        if (!float.IsFinite(value))
            throw new InvalidOperationException($"training diverged: the loss became {value} at epoch {epoch}; lower --lr.");
    }
}
