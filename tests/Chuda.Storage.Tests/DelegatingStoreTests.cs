using System.Reflection;
using Xunit;

namespace Chuda.Storage.Tests;

/// <summary>Every member of the contract is forwarded to the inner store or transaction, with its arguments in order.</summary>
public sealed class DelegatingStoreTests
{
    private sealed class Store(IChudaStore inner) : DelegatingStore(inner);

    private sealed class Transaction(IProfileTransaction inner) : DelegatingProfileTransaction(inner);

    [Fact]
    public void The_delegating_store_forwards_every_method_with_its_arguments()
    {
        var inner = DispatchProxy.Create<IChudaStore, Recorder>();
        AssertForwards<IChudaStore>(new Store(inner), (Recorder)(object)inner);
    }

    [Fact]
    public void The_delegating_transaction_forwards_every_method_with_its_arguments()
    {
        var inner = DispatchProxy.Create<IProfileTransaction, Recorder>();
        AssertForwards<IProfileTransaction>(new Transaction(inner), (Recorder)(object)inner);
    }

    private static void AssertForwards<TContract>(TContract outer, Recorder recorder)
    {
        var methods = typeof(TContract).GetMethods().Concat(typeof(TContract).GetInterfaces().SelectMany(i => i.GetMethods())).ToArray();
        Assert.Contains(methods, m => m.Name == nameof(IAsyncDisposable.DisposeAsync));
        foreach (var method in methods)
        {
            var args = method.GetParameters().Select((p, i) => Sample(p.ParameterType, i)).ToArray();
            recorder.Calls.Clear();
            method.Invoke(outer, args);
            var call = Assert.Single(recorder.Calls);
            Assert.Equal(method.Name, call.Method.Name);
            Assert.Equal(args, call.Args);
        }
    }

    /// <summary>A distinct value per position, so swapped arguments of one type are noticed.</summary>
    private static object? Sample(Type type, int position)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(long)) return 1000L + position;
        if (underlying == typeof(int)) return 100 + position;
        if (underlying == typeof(bool)) return position % 2 == 0;
        if (underlying == typeof(string)) return $"s{position}";
        if (underlying == typeof(DateTimeOffset)) return new DateTimeOffset(2026, 1, 1, 0, position, 0, TimeSpan.Zero);
        if (underlying == typeof(TimeSpan)) return TimeSpan.FromMinutes(position + 1);
        if (underlying == typeof(CancellationToken)) return new CancellationToken(canceled: true);
        if (underlying.IsEnum) return Enum.GetValues(underlying).GetValue(Enum.GetValues(underlying).Length - 1);
        return underlying.IsValueType ? Activator.CreateInstance(underlying) : null;
    }

    public class Recorder : DispatchProxy
    {
        public List<(MethodInfo Method, object?[] Args)> Calls { get; } = [];

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            Calls.Add((targetMethod, args ?? []));
            var type = targetMethod.ReturnType;
            if (type == typeof(Task)) return Task.CompletedTask;
            if (type == typeof(ValueTask)) return ValueTask.CompletedTask;
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var result = type.GetGenericArguments()[0];
                return typeof(Task).GetMethod(nameof(Task.FromResult))!.MakeGenericMethod(result)
                    .Invoke(null, [result.IsValueType ? Activator.CreateInstance(result) : null]);
            }
            return type.IsValueType && type != typeof(void) ? Activator.CreateInstance(type) : null;
        }
    }
}
