using System.Globalization;
using System.Text.Json.Nodes;

namespace Chuda.Server.Demo;

/// <summary>A product of the demo shop, named in both languages; prices in CNY.</summary>
public sealed record DemoProduct(string Id, string NameEn, string NameZh, string Category, decimal Price)
{
    public string Name(bool chinese) => chinese ? NameZh : NameEn;
}

/// <summary>One synthetic shopper. Everything here follows from the seed and the shopper's number alone.</summary>
public sealed record DemoPerson(
    int Number,
    string UserId,
    bool Chinese,
    string Name,
    string FirstName,
    string LastName,
    string Email,
    string Phone,
    string City,
    string Country,
    string TimeZone,
    string Locale,
    string Plan,
    decimal PriorValue,
    int PriorOrders,
    string? PushToken,
    string? PushPlatform);

/// <summary>
/// The synthetic shop: its catalogue, its shoppers (Chinese and English names, +86 and other phones, e-mails on the
/// reserved example domains, cities and IANA zones — mostly Asia/Shanghai —, zh-CN / en locales, membership plans,
/// lifetime value) and their history as Segment messages (identify, page, Product Viewed, Product Added, Order
/// Completed with revenue, Signed Up) at historic timestamps. Deterministic: the same seed gives the same shop.
/// </summary>
public static class DemoShop
{
    public const string Currency = "CNY";

    public static readonly IReadOnlyList<DemoProduct> Products =
    [
        new("p-longjing", "Dragon Well green tea", "西湖龙井", "tea", 168m),
        new("p-mug", "Celadon ceramic mug", "青瓷马克杯", "home", 59m),
        new("p-headphones", "Noise-cancelling headphones", "降噪蓝牙耳机", "electronics", 1299m),
        new("p-runners", "Running shoes", "轻量跑步鞋", "sports", 699m),
        new("p-backpack", "Travel backpack", "旅行双肩包", "bags", 349m),
        new("p-lamp", "Desk lamp", "护眼台灯", "home", 229m),
        new("p-powerbank", "Power bank 20,000 mAh", "充电宝 20000mAh", "electronics", 149m),
        new("p-serum", "Hydrating serum", "保湿精华液", "beauty", 399m),
        new("p-coffee", "Yunnan coffee beans", "云南咖啡豆", "food", 88m),
        new("p-watch", "Smart watch", "智能手表", "electronics", 1599m),
        new("p-tee", "Cotton T-shirt", "纯棉T恤", "apparel", 99m),
        new("p-mooncake", "Mooncake gift box", "月饼礼盒", "food", 258m),
    ];

    private static readonly (string Hanzi, string Pinyin)[] Surnames =
    [
        ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"),
        ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
        ("何", "he"), ("林", "lin"), ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ];

    private static readonly (string Hanzi, string Pinyin)[] GivenNames =
    [
        ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"),
        ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("军", "jun"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"),
        ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"), ("婷婷", "tingting"), ("浩然", "haoran"), ("子涵", "zihan"),
        ("欣怡", "xinyi"), ("梓萱", "zixuan"), ("宇轩", "yuxuan"), ("思远", "siyuan"), ("一诺", "yinuo"), ("雨桐", "yutong"), ("俊杰", "junjie"),
    ];

    private static readonly string[] EnglishFirst =
    [
        "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Sophia", "Lucas", "Mia", "Ethan", "Chloe", "Daniel", "Grace", "Ryan",
        "Emily", "Jack", "Hannah", "Oliver", "Zoe", "Kevin", "Michelle", "Jason", "Vivian", "Eric", "Isabella", "Leo",
    ];

    private static readonly string[] EnglishLast =
    [
        "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Lee", "Martin", "Walker", "Young", "King", "Wright", "Scott", "Green",
        "Baker", "Chan", "Wong", "Tan", "Ng", "Lim", "Evans", "Hughes", "Clarke",
    ];

    // Reserved example domains (RFC 2606): a demo must never hold a real person's address.
    private static readonly string[] MailDomains = ["example.com", "example.org", "example.net", "mail.example.com"];

    private static readonly (string City, int Weight)[] ChineseCities =
        [("Shanghai", 35), ("Beijing", 18), ("Shenzhen", 12), ("Guangzhou", 10), ("Hangzhou", 10), ("Chengdu", 8), ("Nanjing", 7)];

    private static readonly (string City, string Country, string Zone, string Locale, string Prefix, int Weight)[] EnglishCities =
    [
        ("Shanghai", "CN", "Asia/Shanghai", "en", "+86", 30),
        ("Hong Kong", "HK", "Asia/Hong_Kong", "en", "+852", 15),
        ("Singapore", "SG", "Asia/Singapore", "en", "+65", 15),
        ("London", "GB", "Europe/London", "en-GB", "+44", 12),
        ("San Francisco", "US", "America/Los_Angeles", "en-US", "+1", 10),
        ("New York", "US", "America/New_York", "en-US", "+1", 10),
        ("Sydney", "AU", "Australia/Sydney", "en-AU", "+61", 8),
    ];

    public static string UserId(int number) => "u" + (100000 + number).ToString(CultureInfo.InvariantCulture);

    /// <summary>The shoppers, numbered 1..count; the same seed gives the same people.</summary>
    public static IReadOnlyList<DemoPerson> People(int seed, int count)
    {
        var rng = new Random(seed);
        var people = new List<DemoPerson>(count);
        for (var n = 1; n <= count; n++) people.Add(Person(rng, n, UserId(n)));
        return people;
    }

    /// <summary>A new shopper signing up while the demo runs.</summary>
    public static DemoPerson NewPerson(Random rng, int number, string userId) => Person(rng, number, userId);

    private static DemoPerson Person(Random rng, int n, string userId)
    {
        var chinese = rng.NextDouble() < 0.75;
        string name, first, last, email, phone, city, country, zone, locale;
        var tag = n.ToString(CultureInfo.InvariantCulture);
        if (chinese)
        {
            var (sh, sp) = Surnames[rng.Next(Surnames.Length)];
            var (gh, gp) = GivenNames[rng.Next(GivenNames.Length)];
            name = sh + gh;
            first = gh;
            last = sh;
            email = $"{sp}{gp}{tag}@{MailDomains[rng.Next(MailDomains.Length)]}";
            phone = "+86 1" + "3456789"[rng.Next(7)] + Digits(rng, 9);
            city = Pick(rng, ChineseCities);
            country = "CN";
            zone = "Asia/Shanghai";
            locale = "zh-CN";
        }
        else
        {
            first = EnglishFirst[rng.Next(EnglishFirst.Length)];
            last = EnglishLast[rng.Next(EnglishLast.Length)];
            name = first + " " + last;
            email = $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}{tag}@{MailDomains[rng.Next(MailDomains.Length)]}";
            var total = EnglishCities.Sum(c => c.Weight);
            var roll = rng.Next(total);
            var place = EnglishCities[0];
            foreach (var c in EnglishCities)
            {
                if (roll < c.Weight)
                {
                    place = c;
                    break;
                }
                roll -= c.Weight;
            }
            (city, country, zone, locale) = (place.City, place.Country, place.Zone, place.Locale);
            phone = place.Prefix switch
            {
                "+86" => "+86 1" + "3456789"[rng.Next(7)] + Digits(rng, 9),
                "+1" => "+1 415 555 " + Digits(rng, 4), // the 555 range is fictional
                "+44" => "+44 7700 900" + Digits(rng, 3), // Ofcom's drama range
                "+61" => "+61 491 570 " + Digits(rng, 3), // ACMA's fictional range
                _ => place.Prefix + " 9" + Digits(rng, 7),
            };
        }
        var planRoll = rng.NextDouble();
        var plan = planRoll < 0.6 ? "free" : planRoll < 0.9 ? "plus" : "pro";
        // Lifetime value before the history window: log-normal, median ≈ 150 CNY, about one in twenty-five above 1,000.
        var prior = Math.Round((decimal)Math.Exp(5.0 + 1.1 * Gaussian(rng)), 2);
        var priorOrders = (int)Math.Max(0, Math.Round((double)prior / 180 + rng.NextDouble() * 2 - 1));
        if (rng.NextDouble() < 0.12)
        {
            prior = 0; // never ordered yet
            priorOrders = 0;
        }
        string? token = null, platform = null;
        if (rng.NextDouble() < 0.55)
        {
            platform = rng.NextDouble() < 0.5 ? "ios" : "android";
            token = "demo-" + platform + "-" + Convert.ToHexStringLower(BitConverter.GetBytes(rng.NextInt64()));
        }
        return new DemoPerson(n, userId, chinese, name, first, last, email, phone, city, country, zone, locale, plan, prior, priorOrders, token, platform);
    }

    private static string Digits(Random rng, int count)
    {
        Span<char> s = stackalloc char[count];
        for (var i = 0; i < count; i++) s[i] = (char)('0' + rng.Next(10));
        return new string(s);
    }

    private static string Pick(Random rng, (string City, int Weight)[] weighted)
    {
        var roll = rng.Next(weighted.Sum(w => w.Weight));
        foreach (var (city, weight) in weighted)
        {
            if (roll < weight) return city;
            roll -= weight;
        }
        return weighted[0].City;
    }

    private static double Gaussian(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    // ---- messages ----------------------------------------------------------------------------

    /// <summary>An identify with the shopper's traits, address, zone, locale and (if any) push token.</summary>
    public static JsonObject Identify(DemoPerson p, decimal lifetimeValue, int orders, DateTimeOffset createdAt, DateTimeOffset? at, string? messageId)
    {
        var traits = new JsonObject
        {
            ["name"] = p.Name,
            ["first_name"] = p.FirstName,
            ["last_name"] = p.LastName,
            ["email"] = p.Email,
            ["phone"] = p.Phone,
            ["city"] = p.City,
            ["country"] = p.Country,
            ["plan"] = p.Plan,
            ["lifetime_value"] = lifetimeValue,
            ["orders_count"] = orders,
            ["created_at"] = Iso(createdAt),
        };
        var context = new JsonObject { ["timezone"] = p.TimeZone, ["locale"] = p.Locale };
        if (p.PushToken is not null) context["device"] = new JsonObject { ["token"] = p.PushToken, ["type"] = p.PushPlatform };
        var m = new JsonObject { ["type"] = "identify", ["userId"] = p.UserId, ["traits"] = traits, ["context"] = context };
        return Stamp(m, at, messageId);
    }

    public static JsonObject Track(DemoPerson p, string eventName, JsonObject properties, DateTimeOffset? at, string? messageId) =>
        Stamp(new JsonObject { ["type"] = "track", ["userId"] = p.UserId, ["event"] = eventName, ["properties"] = properties }, at, messageId);

    public static JsonObject Page(DemoPerson p, string name, string path, DateTimeOffset? at, string? messageId) =>
        Stamp(new JsonObject
        {
            ["type"] = "page", ["userId"] = p.UserId, ["name"] = name,
            ["properties"] = new JsonObject { ["path"] = path, ["url"] = "https://shop.example.com" + path },
        }, at, messageId);

    public static JsonObject ProductProperties(DemoPerson p, DemoProduct product) => new()
    {
        ["product_id"] = product.Id,
        ["product_name"] = product.Name(p.Chinese),
        ["category"] = product.Category,
        ["price"] = product.Price,
        ["currency"] = Currency,
    };

    public static JsonObject CartProperties(DemoPerson p, DemoProduct product, int quantity, string cartId)
    {
        var props = ProductProperties(p, product);
        props["cart_id"] = cartId;
        props["quantity"] = quantity;
        props["item_count"] = quantity;
        props["cart_value"] = product.Price * quantity;
        return props;
    }

    public static JsonObject OrderProperties(DemoPerson p, DemoProduct product, int quantity, string cartId, string orderId)
    {
        var total = product.Price * quantity;
        return new JsonObject
        {
            ["order_id"] = orderId,
            ["cart_id"] = cartId,
            ["product_id"] = product.Id,
            ["product_name"] = product.Name(p.Chinese),
            ["item_count"] = quantity,
            ["revenue"] = total,
            ["total"] = total,
            ["currency"] = Currency,
        };
    }

    private static JsonObject Stamp(JsonObject m, DateTimeOffset? at, string? messageId)
    {
        if (at is { } t) m["timestamp"] = Iso(t);
        if (messageId is not null) m["messageId"] = messageId;
        return m;
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// One shopper's history over <paramref name="window"/> before <paramref name="now"/>, in time order, with stable
    /// message ids (seeding again after an interruption stores nothing twice). About one in eight shoppers has gone
    /// quiet for a week or more — a few of them only just, so they cross into "Inactive 7 days" while the demo runs.
    /// </summary>
    public static List<JsonObject> History(DemoPerson p, int seed, DateTimeOffset now, TimeSpan window)
    {
        var rng = new Random(unchecked(seed * 7919 + p.Number)); // not HashCode: it differs per process
        var start = now - window;
        var week = TimeSpan.FromDays(7);
        var sessions = new List<DateTimeOffset>();
        var kind = rng.NextDouble();
        if (kind < 0.04)
        {
            // About to go quiet: the last visit was almost exactly a week ago.
            var last = now - week + TimeSpan.FromMinutes(1 + rng.NextDouble() * 24);
            sessions.Add(last);
            for (var i = rng.Next(3); i > 0; i--) sessions.Add(Between(rng, start, last));
        }
        else if (kind < 0.13)
        {
            var end = now - week - TimeSpan.FromHours(1);
            for (var i = 1 + rng.Next(3); i > 0; i--) sessions.Add(Between(rng, start, end));
        }
        else
        {
            var count = 1 + rng.Next(8);
            for (var i = 0; i < count; i++) sessions.Add(Between(rng, start, now - TimeSpan.FromMinutes(3)));
            // Some shoppers were here in the last day, so "Cart abandoners (24h)" has members from the start.
            if (rng.NextDouble() < 0.15) sessions.Add(Between(rng, now - TimeSpan.FromHours(20), now - TimeSpan.FromMinutes(70)));
        }
        sessions.Sort();

        var signedUpInWindow = rng.NextDouble() < 0.25;
        var createdAt = signedUpInWindow ? sessions[0] - TimeSpan.FromMinutes(2) : now - TimeSpan.FromDays(15 + rng.Next(400));
        var pricingFan = rng.NextDouble() < 0.1; // compares membership plans again and again
        var events = new List<(DateTimeOffset At, Func<string, JsonObject> Make)>();
        var value = p.PriorValue;
        var orders = p.PriorOrders;
        var cart = 0;
        foreach (var s in sessions)
        {
            var t = s;
            DateTimeOffset Next() => t += TimeSpan.FromSeconds(20 + rng.Next(160));
            var at0 = Next();
            events.Add((at0, id => Page(p, "Home", "/", at0, id)));
            for (var v = 1 + rng.Next(3); v > 0; v--)
            {
                var product = Products[rng.Next(Products.Count)];
                var at = Next();
                events.Add((at, id => Page(p, product.Name(p.Chinese), "/products/" + product.Id, at, id)));
                var at2 = at + TimeSpan.FromSeconds(1);
                events.Add((at2, id => Track(p, "Product Viewed", ProductProperties(p, product), at2, id)));
            }
            if (pricingFan || rng.NextDouble() < 0.12)
            {
                for (var v = pricingFan ? 1 + rng.Next(2) : 1; v > 0; v--)
                {
                    var at = Next();
                    events.Add((at, id => Page(p, p.Chinese ? "会员价格" : "Membership pricing", "/pricing", at, id)));
                }
            }
            if (rng.NextDouble() < 0.35)
            {
                var product = Products[rng.Next(Products.Count)];
                var quantity = 1 + (rng.NextDouble() < 0.2 ? 1 : 0);
                var cartId = $"c-{p.UserId}-{++cart}";
                var at = Next();
                events.Add((at, id => Track(p, "Product Added", CartProperties(p, product, quantity, cartId), at, id)));
                if (!pricingFan && rng.NextDouble() < 0.55)
                {
                    var orderAt = at + TimeSpan.FromMinutes(1 + rng.Next(25));
                    if (orderAt < now)
                    {
                        var orderId = $"o-{p.UserId}-{cart}";
                        events.Add((orderAt, id => Track(p, "Order Completed", OrderProperties(p, product, quantity, cartId, orderId), orderAt, id)));
                        value += product.Price * quantity;
                        orders++;
                    }
                }
            }
        }

        var first = sessions[0] - TimeSpan.FromMinutes(3);
        var result = new List<JsonObject>(events.Count + 2)
        {
            Identify(p, value, orders, createdAt, first, $"demo-{p.UserId}-identify"),
        };
        if (signedUpInWindow)
        {
            var at = first + TimeSpan.FromSeconds(1);
            result.Add(Track(p, "Signed Up", new JsonObject { ["method"] = p.Chinese && rng.NextDouble() < 0.6 ? "wechat" : "email" }, at,
                $"demo-{p.UserId}-signup"));
        }
        var k = 0;
        foreach (var (_, make) in events.OrderBy(e => e.At)) result.Add(make($"demo-{p.UserId}-{++k}"));
        return result;
    }

    private static DateTimeOffset Between(Random rng, DateTimeOffset from, DateTimeOffset to) =>
        from + TimeSpan.FromSeconds(rng.NextDouble() * Math.Max(0, (to - from).TotalSeconds));
}
