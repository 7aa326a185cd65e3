using System.Numerics;
using LossKit.Catalog;
using LossKit.Workbench.Training;

namespace LossKit.Workbench.Tests.Training;

public class LossKindTests
{
    private const string Name = "workbench_test_binary";

    private sealed class BinaryStub(LossCard card) : IBinaryLoss
    {
        public LossCard Card => card;
        public string Spec => card.Name;
        public Reduction Reduction => Reduction.Mean;
        public T Compute<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> elementLosses = default, Span<T> gradient = default)
            where T : unmanaged, IFloatingPointIeee754<T> => T.Zero;
    }

    private static void EnsureRegistered()
    {
        lock (typeof(LossKindTests))
        {
            if (LossRegistry.All.Any(d => d.Card.Name == Name)) return;
            var card = new LossCard { Name = Name, Family = "test", Title = "binary stand-in", Formula = "0", Reference = "test" };
            LossRegistry.Register(new LossDefinition(card, _ => new BinaryStub(card)));
        }
    }

    [Fact]
    public void NonClassificationLossIsRejectedWithAReason()
    {
        EnsureRegistered();
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Run(new RunConfig { Data = "iris", Loss = Name, Epochs = 1 }));
        Assert.Contains("not a multi-class loss", e.Message);
    }
}
