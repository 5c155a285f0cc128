using Dermag.BomTriggers;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Dermag.SampleHost.Api;

/// <summary>Describes the API and its bearer authentication in the OpenAPI document, so API tools can send the token.</summary>
internal sealed class BearerSecurityTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Dermag sample host";
        document.Info.Description = "Dermag.TokenRotation and Dermag.BomTriggers wired into one app. Responses use the envelope { success, data, message, code }.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "The access token from POST /api/auth/login or /api/auth/refresh.",
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] }];
        return Task.CompletedTask;
    }
}
