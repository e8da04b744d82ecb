using Chuda.Domain.Templates;

namespace Chuda.Domain.Tests.Templates;

public class HtmlTextTests
{
    [Theory]
    [InlineData("<p>Hello</p><p>World</p>", "Hello\n\nWorld")]
    [InlineData("Line one<br>Line two<br/>Line three<BR />end", "Line one\nLine two\nLine three\nend")]
    [InlineData("<div>a</div><div>b</div>", "a\nb")]
    [InlineData("<ul><li>one</li><li>two</li></ul>after", "- one\n- two\n\nafter")]
    [InlineData("<p>  lots   of\n\t white   space  </p>", "lots of white space")]
    [InlineData("Tom &amp; Jerry &lt;3 &quot;x&quot; &#39;y&#39; &#x4E2D; caf&eacute;&nbsp;!", "Tom & Jerry <3 \"x\" 'y' 中 café !")]
    [InlineData("<a href=\"https://x.test/a?b=1&amp;c=2\">Shop now</a>", "Shop now (https://x.test/a?b=1&c=2)")]
    [InlineData("<a href='https://x.test'>https://x.test</a>", "https://x.test")]
    [InlineData("<a href=\"mailto:help@x.test\">help@x.test</a>", "help@x.test")]
    [InlineData("<a href=\"#top\">Top</a>", "Top")]
    [InlineData("<a href=\"https://x.test/i\"><img src=\"i.png\"></a>", "https://x.test/i")]
    [InlineData("<a name=\"n\">anchor</a>", "anchor")]
    [InlineData("<html><head><title>T</title><style>p { color: red }</style></head><body><script>alert('x')</script>Hi</body></html>", "Hi")]
    [InlineData("a <!-- hidden <p>x</p> --> b", "a b")]
    [InlineData("<!DOCTYPE html><h1>Title</h1>Text", "Title\n\nText")]
    [InlineData("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc")]
    [InlineData("1 < 2 and 3 > 2", "1 < 2 and 3 > 2")]
    [InlineData("<p>x</p>\n\n\n<p>y</p>", "x\n\ny")]
    [InlineData("<b>bold</b><i>it</i>", "boldit")]
    [InlineData("", "")]
    public void Html_becomes_readable_text(string html, string text) => Assert.Equal(text, HtmlText.ToText(html));
}
