using System.Collections.Concurrent;
using Chuda.Domain.Templates;
using static Chuda.Domain.Tests.Templates.TemplateTestKit;

namespace Chuda.Domain.Tests.Templates;

public class TemplateConcurrencyTests
{
    [Fact]
    public void One_compiled_template_renders_on_many_threads_and_each_result_has_only_its_own_problems()
    {
        var t = One("""
        {"email":{"subject":"Hi {{profile.name}} {{formatDate event.at \"yyyy-MM-dd HH:mm\"}}",
                  "html":"<p>{{profile.name}}</p>{{#each items}}<i>{{event.v}}</i>{{/each}}{{profile.opt}}"}}
        """);
        var compiled = TemplateRenderer.Compile(t);
        var failures = new ConcurrentBag<string>();
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
        {
            // Every third recipient lacks 'opt', every fifth lacks item i's value; zones alternate.
            var zone = i % 2 == 0 ? "Asia/Shanghai" : "America/New_York";
            var opt = i % 3 == 0 ? "" : ",\"opt\":\"o" + i + "\"";
            var missingItem = i % 5 == 0;
            var second = missingItem ? "{}" : "{\"v\":\"b" + i + "\"}";
            var json = "{\"profile\":{\"name\":\"n" + i + "\"" + opt + "},\"event\":{\"at\":\"2026-03-08T12:00:00Z\"},"
                + "\"items\":[{\"event\":{\"v\":\"a" + i + "\"}},{\"event\":" + second + "}]}";
            var result = compiled.Render("email", null, Data(json, zone), RenderOptions.Default);
            var email = (EmailContent)result.Content!;
            var expectedTime = i % 2 == 0 ? "2026-03-08 20:00" : "2026-03-08 08:00";
            if (email.Subject != $"Hi n{i} {expectedTime}")
            {
                failures.Add($"{i}: subject {email.Subject}");
            }

            var expectedHtml = $"<p>n{i}</p><i>a{i}</i><i>{(missingItem ? "" : "b" + i)}</i>{(i % 3 == 0 ? "" : "o" + i)}";
            if (email.Html != expectedHtml)
            {
                failures.Add($"{i}: html {email.Html}");
            }

            var expectedProblems = new List<string>();
            if (missingItem)
            {
                expectedProblems.Add("items[1].event.v");
            }

            if (i % 3 == 0)
            {
                expectedProblems.Add("profile.opt");
            }

            var problems = result.Problems.Select(p => p.Variable ?? p.Message).ToList();
            if (!problems.SequenceEqual(expectedProblems))
            {
                failures.Add($"{i}: problems {string.Join(",", problems)}");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Parsing_and_compiling_on_many_threads_is_safe()
    {
        var results = new ConcurrentBag<string>();
        Parallel.For(0, 64, i =>
        {
            var t = One("""{"sms":{"text":"{{#if profile.a}}A{{/if}}""" + i + """ {{upper profile.n}}"}}""");
            results.Add(((SmsContent)Render(t, "sms", """{"profile":{"n":"x"}}""").Content!).Text);
        });
        Assert.Equal(Enumerable.Range(0, 64).Select(i => i + " X").Order(), results.Order());
    }
}
