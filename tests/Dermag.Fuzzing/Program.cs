using Dermag.Fuzzing;
using SharpFuzz;

// Usage:
//   dotnet Dermag.Fuzzing.dll <harness>                  under afl-fuzz (the input arrives on stdin; see fuzz.sh)
//   dotnet Dermag.Fuzzing.dll <harness> --replay <dir>...  every file in the folders through the harness, no afl needed
// Harnesses: refresh-token, condition, payload.
if (args.Length == 0 || !Harnesses.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Dermag.Fuzzing <{string.Join('|', Harnesses.Names)}> [--replay <dir>...]");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    // Instrumented libraries (fuzz.sh's build) write coverage to SharpFuzz's trace map, which only Fuzzer.* sets up.
    Replay.EnsureTraceMap();
    return Replay.Run(args[0], Harnesses.Create(args[0])!, args[2..], Console.Out);
}

// The harness is built inside the fuzzing loop: its setup calls the instrumented libraries, whose trace map SharpFuzz
// allocates only when the loop starts (SharpFuzz also ignores the coverage of that first, setup-paying execution).
IHarness? harness = null;

// Out of process: a stack overflow or a hang in the library kills only the child, which SharpFuzz restarts and
// afl-fuzz records as a crash or hang, instead of ending the whole run.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    harness ??= Harnesses.Create(args[0])!;
    harness.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;
