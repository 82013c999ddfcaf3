"""The GraphQL API: schema, context, permissions, loaders, error mapping, subscriptions."""
