using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Dermag.SampleHost.Hosting;

internal static class DataProtectionSetup
{
    /// <summary>
    /// ASP.NET Core registers DataProtection with authentication and loads its key ring at startup; without a configured
    /// repository it picks a folder (or memory, in a container) and logs that the keys are stored unencrypted. Nothing in
    /// this sample uses DataProtection: tokens are JWTs signed with the Dermag signing keys, and there is no cookie,
    /// antiforgery token or session. So the key ring is kept in this process's memory on purpose (then "unencrypted"
    /// means "never written anywhere"), and instances need no shared key ring. An app that adds cookies must share one
    /// between its instances instead, e.g. <c>AddDataProtection().PersistKeysToDbContext&lt;AppDbContext&gt;()</c> with
    /// <c>ProtectKeysWithCertificate(...)</c>.
    /// </summary>
    public static IServiceCollection AddSampleDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection();
        services.Configure<KeyManagementOptions>(options =>
        {
            options.XmlRepository = new InMemoryXmlRepository();
            options.XmlEncryptor = new NullXmlEncryptor();
        });
        return services;
    }

    private sealed class InMemoryXmlRepository : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements)
            {
                return [.. _elements.Select(e => new XElement(e))];
            }
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements)
            {
                _elements.Add(new XElement(element));
            }
        }
    }
}
