//! `spin:postgres/postgres@4.2.0` over tokio-postgres, with TLS as Spin has it.
//!
//! As in Spin, the guest passes the connection address and the host checks it against the
//! component's `allowed_outbound_hosts` (`postgres://host:port`). Connections come from a
//! pool per address and CA root, as Spin's (deadpool-postgres, at most 64 connections per
//! pool, 16 pools, a connection "cleaned" before reuse — which does not end a transaction a
//! guest left open).
//!
//! TLS is Spin's too (native-tls through postgres-native-tls): unless the address says
//! `sslmode=disable`, the client asks for TLS (`prefer`, tokio-postgres's default, falls
//! back to plain TCP only when the server has no TLS; `require` fails then), and verifies the
//! server's certificate chain and host name against the system's roots plus the root a guest
//! gives `connection-builder.set-ca-root`. A server with a self-signed certificate therefore
//! fails every connection unless the guest passes that certificate as its CA root or the
//! address disables TLS. Database errors keep their SQLSTATE in `db-error`, so guests can tell a unique
//! violation (23505) from other failures. Column types outside the common scalar set come
//! back as `unsupported`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row};
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::spin::postgres4_2_0::postgres::{
    Column, DbDataType, DbError, DbValue, Error, Host, HostConnection, HostConnectionBuilder,
    HostConnectionBuilderWithStore, HostConnectionWithStore, ParameterValue, QueryError, RowSet,
};
use super::{SpinApis, SpinView};
use crate::outbound::OutboundPolicy;

/// Most connections one address's pool holds (Spin's `CONNECTION_POOL_SIZE`).
const CONNECTION_POOL_SIZE: usize = 64;
/// Most addresses with a pool at once (Spin's `CONNECTION_POOL_CACHE_CAPACITY`); the pool
/// used least recently is dropped first.
const CONNECTION_POOL_CACHE_CAPACITY: usize = 16;

/// Where a pool connects: the address and the CA root (PEM) a guest added, if any.
type PoolKey = (String, Option<String>);

/// The application's PostgreSQL pools, by address and CA root.
#[derive(Default)]
pub struct PgPools {
    /// Most recently used last.
    pools: Mutex<VecDeque<(PoolKey, Pool)>>,
}

impl PgPools {
    #[allow(
        clippy::result_large_err,
        reason = "the WIT error type is what the guest receives"
    )]
    fn pool(&self, key: PoolKey) -> Result<Pool, Error> {
        let mut pools = self
            .pools
            .lock()
            .map_err(|_| Error::Other("PostgreSQL pool lock poisoned".into()))?;
        if let Some(i) = pools.iter().position(|(k, _)| *k == key)
            && let Some(entry) = pools.remove(i)
        {
            let pool = entry.1.clone();
            pools.push_back(entry);
            return Ok(pool);
        }
        let pool = new_pool(&key.0, key.1.as_deref())?;
        if pools.len() >= CONNECTION_POOL_CACHE_CAPACITY {
            pools.pop_front();
        }
        pools.push_back((key, pool.clone()));
        Ok(pool)
    }
}

#[allow(
    clippy::result_large_err,
    reason = "the WIT error type is what the guest receives"
)]
fn new_pool(address: &str, ca_root: Option<&str>) -> Result<Pool, Error> {
    let failed =
        |e: &dyn std::fmt::Display| Error::ConnectionFailed(format!("{}: {e}", redacted(address)));
    let config: tokio_postgres::Config = address.parse().map_err(|e| failed(&e))?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Clean,
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(config, NoTls, manager_config)
    } else {
        let mut tls = native_tls::TlsConnector::builder();
        if let Some(pem) = ca_root {
            tls.add_root_certificate(ca_certificate(pem)?);
        }
        let tls = MakeTlsConnector::new(tls.build().map_err(|e| failed(&e))?);
        Manager::from_config(config, tls, manager_config)
    };
    Pool::builder(manager)
        .max_size(CONNECTION_POOL_SIZE)
        .build()
        .map_err(|e| failed(&e))
}

/// The guest's handle to an open connection: a pooled connection, back in its pool when
/// the guest drops the handle.
pub struct ConnectionHandle(Arc<Object>);

/// A PEM certificate as a CA root, or the error Spin gives for one it cannot read.
#[allow(
    clippy::result_large_err,
    reason = "the WIT error type is what the guest receives"
)]
fn ca_certificate(pem: &str) -> Result<native_tls::Certificate, Error> {
    native_tls::Certificate::from_pem(pem.as_bytes())
        .map_err(|e| Error::Other(format!("invalid root certificate: {e}")))
}

/// `connection-builder`: an address, and the CA root to trust besides the system's,
/// waiting for `build`.
pub struct ConnectionBuilder {
    address: String,
    ca_root: Option<String>,
}

/// An error with its causes, as Spin reports a failed connection ("error performing TLS
/// handshake: … certificate verify failed …").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The address without its password, for error messages.
fn redacted(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparseable address>".to_owned(),
    }
}

pub(super) async fn connect(
    (policy, pools): (OutboundPolicy, Arc<PgPools>),
    address: String,
    ca_root: Option<String>,
) -> Result<ConnectionHandle, Error> {
    if !policy.allows_url(&address) {
        return Err(Error::ConnectionFailed(format!(
            "address {} is not permitted by allowed_outbound_hosts",
            redacted(&address)
        )));
    }
    let connection = pools
        .pool((address.clone(), ca_root))?
        .get()
        .await
        .map_err(|e| Error::ConnectionFailed(format!("{}: {}", redacted(&address), chain(&e))))?;
    Ok(ConnectionHandle(Arc::new(connection)))
}

pub(super) fn policy_of(view: &SpinView<'_>) -> (OutboundPolicy, Arc<PgPools>) {
    (
        view.grants.outbound.clone(),
        Arc::clone(&view.grants.postgres),
    )
}

pub(super) fn client(
    view: &mut SpinView<'_>,
    handle: &Resource<ConnectionHandle>,
) -> wasmtime::Result<Arc<Object>> {
    Ok(Arc::clone(&view.table.get(handle)?.0))
}

/// SQL NULL for a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

type Param = Box<dyn ToSql + Sync + Send>;

#[allow(
    clippy::result_large_err,
    reason = "the WIT error type is what the guest receives"
)]
fn to_param(value: ParameterValue) -> Result<Param, Error> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::DbNull => Box::new(Null),
        other => {
            return Err(Error::BadParameter(format!(
                "parameter type {other:?} is not supported by this host"
            )));
        }
    })
}

fn query_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::QueryFailed(QueryError::DbError(DbError {
            as_text: e.to_string(),
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            extras: db
                .constraint()
                .map(|c| vec![("constraint".to_owned(), c.to_owned())])
                .unwrap_or_default(),
        })),
        None => Error::QueryFailed(QueryError::Text(e.to_string())),
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::CHAR => DbDataType::Int8,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
}

fn value(row: &Row, index: usize) -> Result<DbValue, tokio_postgres::Error> {
    fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
        row: &'a Row,
        index: usize,
        wrap: impl FnOnce(T) -> DbValue,
    ) -> Result<DbValue, tokio_postgres::Error> {
        Ok(row
            .try_get::<_, Option<T>>(index)?
            .map(wrap)
            .unwrap_or(DbValue::DbNull))
    }
    match *row.columns()[index].type_() {
        Type::BOOL => get(row, index, DbValue::Boolean),
        Type::CHAR => get(row, index, DbValue::Int8),
        Type::INT2 => get(row, index, DbValue::Int16),
        Type::INT4 => get(row, index, DbValue::Int32),
        Type::INT8 => get(row, index, DbValue::Int64),
        Type::FLOAT4 => get(row, index, DbValue::Floating32),
        Type::FLOAT8 => get(row, index, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => get(row, index, DbValue::Str),
        Type::BYTEA => get(row, index, DbValue::Binary),
        _ => Ok(DbValue::Unsupported(Vec::new())),
    }
}

pub(super) async fn query(
    client: Arc<Object>,
    statement: String,
    params: Vec<ParameterValue>,
) -> Result<RowSet, Error> {
    let params = params
        .into_iter()
        .map(to_param)
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
    let stmt = client.prepare(&statement).await.map_err(query_error)?;
    let rows = client.query(&stmt, &refs).await.map_err(query_error)?;
    let columns = stmt
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            data_type: data_type(c.type_()),
        })
        .collect();
    let rows = rows
        .iter()
        .map(|row| (0..row.len()).map(|i| value(row, i)).collect())
        .collect::<Result<Vec<Vec<_>>, _>>()
        .map_err(|e| Error::ValueConversionFailed(e.to_string()))?;
    Ok(RowSet { columns, rows })
}

pub(super) async fn execute(
    client: Arc<Object>,
    statement: String,
    params: Vec<ParameterValue>,
) -> Result<u64, Error> {
    let params = params
        .into_iter()
        .map(to_param)
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as _).collect();
    client.execute(&statement, &refs).await.map_err(query_error)
}

impl HostConnection for SpinView<'_> {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        Ok(match connect(policy_of(self), address, None).await {
            Ok(conn) => Ok(self.table.push(conn)?),
            Err(e) => Err(e),
        })
    }

    async fn query(
        &mut self,
        handle: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, Error>> {
        Ok(query(client(self, &handle)?, statement, params).await)
    }

    async fn execute(
        &mut self,
        handle: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        Ok(execute(client(self, &handle)?, statement, params).await)
    }

    async fn drop(&mut self, handle: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}

impl HostConnectionBuilder for SpinView<'_> {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<ConnectionBuilder>> {
        Ok(self.table.push(ConnectionBuilder {
            address,
            ca_root: None,
        })?)
    }

    async fn set_ca_root(
        &mut self,
        builder: Resource<ConnectionBuilder>,
        certificate: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        if let Err(e) = ca_certificate(&certificate) {
            return Ok(Err(e));
        }
        self.table.get_mut(&builder)?.ca_root = Some(certificate);
        Ok(Ok(()))
    }

    async fn build(
        &mut self,
        builder: Resource<ConnectionBuilder>,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        let ConnectionBuilder { address, ca_root } = self.table.get(&builder)?;
        let (address, ca_root) = (address.clone(), ca_root.clone());
        Ok(match connect(policy_of(self), address, ca_root).await {
            Ok(conn) => Ok(self.table.push(conn)?),
            Err(e) => Err(e),
        })
    }

    async fn drop(&mut self, builder: Resource<ConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(builder)?;
        Ok(())
    }
}

async fn open_async<T: Send>(
    accessor: &Accessor<T, SpinApis>,
    address: String,
    ca_root: Option<String>,
) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
    let policy = accessor.with(|mut access| policy_of(&access.get()));
    match connect(policy, address, ca_root).await {
        Ok(conn) => accessor.with(|mut access| Ok(Ok(access.get().table.push(conn)?))),
        Err(e) => Ok(Err(e)),
    }
}

impl<T: Send> HostConnectionWithStore<T> for SpinApis {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        open_async(accessor, address, None).await
    }

    async fn query_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<Column>,
                StreamReader<Vec<DbValue>>,
                FutureReader<Result<(), Error>>,
            ),
            Error,
        >,
    > {
        let client = accessor.with(|mut access| client(&mut access.get(), &handle))?;
        let RowSet { columns, rows } = match query(client, statement, params).await {
            Ok(set) => set,
            Err(e) => return Ok(Err(e)),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        handle: Resource<ConnectionHandle>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let client = accessor.with(|mut access| client(&mut access.get(), &handle))?;
        Ok(execute(client, statement, params).await)
    }
}

impl<T: Send> HostConnectionBuilderWithStore<T> for SpinApis {
    async fn build_async(
        accessor: &Accessor<T, Self>,
        builder: Resource<ConnectionBuilder>,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, Error>> {
        let (address, ca_root) = accessor.with(|mut access| {
            let ConnectionBuilder { address, ca_root } = access.get().table.get(&builder)?;
            Ok::<_, wasmtime::Error>((address.clone(), ca_root.clone()))
        })?;
        open_async(accessor, address, ca_root).await
    }
}

impl Host for SpinView<'_> {}
