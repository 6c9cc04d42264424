//! OpenTelemetry trace export: the standard `OTEL_*` variables, read like
//! every other setting and handed to `telemetry::traces`, and
//! `TRACE_CONTEXT_TRUST`.

/// Where and how traces are exported (unset endpoint: nothing is).
#[derive(Clone, Debug, clap::Args)]
pub struct TraceSettings {
    /// The OTLP collector's base URL (spans go to `<it>/v1/traces`), for
    /// example `http://localhost:4318`. Unset: no trace is made or
    /// exported.
    #[arg(
        id = "otel_exporter_otlp_endpoint",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT",
        long = "otel-exporter-otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        global = true
    )]
    pub endpoint: Option<String>,

    /// The OTLP transport: `http/protobuf` (the only one this server
    /// speaks; any other value stops the start with a message).
    #[arg(
        id = "otel_exporter_otlp_protocol",
        value_name = "OTEL_EXPORTER_OTLP_PROTOCOL",
        long = "otel-exporter-otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true
    )]
    pub protocol: String,

    /// `service.name` of every span.
    #[arg(
        id = "otel_service_name",
        value_name = "OTEL_SERVICE_NAME",
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "api",
        global = true
    )]
    pub service_name: String,

    /// More resource attributes, `key=value,key=value` (for example
    /// `deployment.environment.name=prod,service.instance.id=api-1`).
    #[arg(
        id = "otel_resource_attributes",
        value_name = "OTEL_RESOURCE_ATTRIBUTES",
        long = "otel-resource-attributes",
        env = "OTEL_RESOURCE_ATTRIBUTES",
        global = true
    )]
    pub resource_attributes: Option<String>,

    /// `parentbased_traceidratio` (default), `traceidratio`,
    /// `parentbased_always_on`, `always_on`, `parentbased_always_off` or
    /// `always_off`.
    #[arg(
        id = "otel_traces_sampler",
        value_name = "OTEL_TRACES_SAMPLER",
        long = "otel-traces-sampler",
        env = "OTEL_TRACES_SAMPLER",
        default_value = "parentbased_traceidratio",
        global = true
    )]
    pub sampler: String,

    /// The ratio of the ratio samplers, 0 to 1.
    #[arg(
        id = "otel_traces_sampler_arg",
        value_name = "OTEL_TRACES_SAMPLER_ARG",
        long = "otel-traces-sampler-arg",
        env = "OTEL_TRACES_SAMPLER_ARG",
        default_value_t = 1.0,
        global = true
    )]
    pub sampler_arg: f64,

    /// What an incoming `traceparent` decides: `id-only` (its trace id is
    /// kept, the server's sampler decides) or `sampled` (its sampling
    /// decision is honoured too).
    #[arg(
        id = "trace_context_trust",
        value_name = "TRACE_CONTEXT_TRUST",
        long = "trace-context-trust",
        env = "TRACE_CONTEXT_TRUST",
        value_enum,
        default_value_t = TraceContextTrust::IdOnly,
        global = true
    )]
    pub trust: TraceContextTrust,
}

/// What an incoming trace context decides (`TRACE_CONTEXT_TRUST`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceContextTrust {
    /// The caller's trace id is kept; the server's sampler decides.
    IdOnly,
    /// The caller's sampling decision is honoured.
    Sampled,
}

impl TraceSettings {
    /// What `telemetry::traces` builds an instance's traces from.
    pub fn config(&self) -> crate::telemetry::traces::TraceConfig {
        crate::telemetry::traces::TraceConfig {
            endpoint: self.endpoint.clone(),
            protocol: self.protocol.clone(),
            service_name: self.service_name.clone(),
            resource_attributes: self.resource_attributes.clone(),
            sampler: self.sampler.clone(),
            sampler_arg: self.sampler_arg,
            trust_sampled: self.trust == TraceContextTrust::Sampled,
        }
    }
}
